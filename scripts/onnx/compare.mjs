#!/usr/bin/env node
// Runs a model from `whittle export --format onnx` in onnxruntime-node on
// fixture batches and compares its logits with the ones whittle's simulated
// model gave for the same batches.
//
// Usage (scripts/onnx/check.sh runs it on every fixture):
//   WHITTLE_ORT_DIR="$(scripts/onnx/install.sh)" node compare.mjs --fixture FIXTURE.json [--model MODEL.onnx]
//       [--max-abs-diff X] [--min-agreement A]
//       [--optimization disabled|basic|extended|all] [--threads N]
//
// FIXTURE.json is either one batch
//   {"input_ids": [[...]], "attention_mask": [[...]], "expected_logits": [[...]]}
// or several, with the model and thresholds beside them (as
// tests/deploy/onnx_export_test.cpp writes them):
//   {"model": "w8.onnx", "max_abs_diff": 1e-4 | null, "min_agreement": 0.999,
//    "batches": [{"input_ids": ..., "attention_mask": ..., "expected_logits": ...}, ...]}
// Each batch is fed as it is, padding included: an l1-norm input mask's
// quantile covers the whole padded batch, so regrouping rows changes logits.
// token_type_ids, when the model takes them, come from the batch or are zeros.
//
// Prints one JSON line; exits 0 when the share of identical argmax reaches
// min_agreement (default 0.999) and, where a max_abs_diff is set, every
// logit is within it; 1 when not; 2 for bad arguments or fixtures.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { UsageError, argmax, int64Tensor, loadOnnxRuntime, openSession, runMain, sessionOptions } from './ort.mjs';

function parseOptions() {
  const { values } = parseArgs({
    options: {
      fixture: { type: 'string' },
      model: { type: 'string' },
      'max-abs-diff': { type: 'string' },
      'min-agreement': { type: 'string' },
      optimization: { type: 'string', default: 'disabled' },
      threads: { type: 'string', default: '1' },
    },
    strict: true,
  });
  if (!values.fixture) throw new UsageError('--fixture FIXTURE.json is required');
  const number = (name, text) => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a non-negative number, got ${text}`);
    return value;
  };
  return {
    fixture: values.fixture,
    model: values.model,
    maxAbsDiff: number('max-abs-diff', values['max-abs-diff']),
    minAgreement: number('min-agreement', values['min-agreement']),
    session: sessionOptions(values),
  };
}

// A rectangular [rows, columns] array of finite numbers; `what` names it in errors.
function matrix(value, what) {
  if (!Array.isArray(value) || value.length === 0 || !Array.isArray(value[0])) {
    throw new UsageError(`${what} must be a non-empty array of rows`);
  }
  const columns = value[0].length;
  for (const [r, row] of value.entries()) {
    if (!Array.isArray(row) || row.length !== columns) throw new UsageError(`${what}: row ${r} is not ${columns} long`);
    if (!row.every((x) => typeof x === 'number' && Number.isFinite(x))) {
      throw new UsageError(`${what}: row ${r} holds something other than finite numbers`);
    }
  }
  return { rows: value.length, columns, flat: value.flat() };
}

function int64Matrix(ort, m, what) {
  if (!m.flat.every(Number.isSafeInteger)) throw new UsageError(`${what} must hold integers`);
  return int64Tensor(ort, BigInt64Array.from(m.flat, (x) => BigInt(x)), m.rows, m.columns);
}

function batchesOf(fixture) {
  const batches = Array.isArray(fixture.batches) ? fixture.batches : [fixture];
  if (batches.length === 0) throw new UsageError('the fixture has no batches');
  return batches.map((batch, b) => {
    const ids = matrix(batch.input_ids, `batch ${b} input_ids`);
    const mask = matrix(batch.attention_mask, `batch ${b} attention_mask`);
    const expected = matrix(batch.expected_logits, `batch ${b} expected_logits`);
    const types = batch.token_type_ids === undefined ? undefined : matrix(batch.token_type_ids, `batch ${b} token_type_ids`);
    for (const [m, name] of [[mask, 'attention_mask'], [types, 'token_type_ids']]) {
      if (m && (m.rows !== ids.rows || m.columns !== ids.columns)) {
        throw new UsageError(`batch ${b}: ${name} is not the shape of input_ids [${ids.rows}, ${ids.columns}]`);
      }
    }
    if (expected.rows !== ids.rows) throw new UsageError(`batch ${b}: expected_logits has ${expected.rows} rows for ${ids.rows} inputs`);
    return { ids, mask, types, expected };
  });
}

async function main() {
  const options = parseOptions();
  let fixture;
  try {
    fixture = JSON.parse(await readFile(options.fixture, 'utf8'));
  } catch (error) {
    throw new UsageError(`cannot read the fixture ${options.fixture}: ${error.message}`);
  }
  const modelPath = options.model ?? (fixture.model ? path.resolve(path.dirname(options.fixture), fixture.model) : undefined);
  if (!modelPath) throw new UsageError('no --model, and the fixture names none');
  const batches = batchesOf(fixture);
  const maxAbsDiff = options.maxAbsDiff ?? (typeof fixture.max_abs_diff === 'number' ? fixture.max_abs_diff : undefined);
  const minAgreement = options.minAgreement ?? (typeof fixture.min_agreement === 'number' ? fixture.min_agreement : 0.999);

  const ort = loadOnnxRuntime();
  const session = await openSession(ort, modelPath, options.session);
  const known = new Set(['input_ids', 'attention_mask', 'token_type_ids']);
  const unknown = session.inputNames.filter((name) => !known.has(name));
  if (unknown.length > 0) throw new UsageError(`the model takes inputs this script cannot feed: ${unknown.join(', ')}`);
  const outputName = session.outputNames.includes('logits') ? 'logits' : session.outputNames[0];

  let examples = 0;
  let identical = 0;
  let worst = 0;
  try {
    for (const [b, batch] of batches.entries()) {
      const feeds = {
        input_ids: int64Matrix(ort, batch.ids, `batch ${b} input_ids`),
        attention_mask: int64Matrix(ort, batch.mask, `batch ${b} attention_mask`),
      };
      if (session.inputNames.includes('token_type_ids')) {
        const zeros = { rows: batch.ids.rows, columns: batch.ids.columns, flat: new Array(batch.ids.flat.length).fill(0) };
        feeds.token_type_ids = int64Matrix(ort, batch.types ?? zeros, `batch ${b} token_type_ids`);
      }
      const logits = (await session.run(feeds))[outputName];
      const [rows, classes] = logits.dims;
      if (rows !== batch.ids.rows || classes !== batch.expected.columns) {
        throw new UsageError(`batch ${b}: the model gives logits [${logits.dims}], the fixture [${batch.expected.rows}, ${batch.expected.columns}]`);
      }
      for (let r = 0; r < rows; ++r) {
        const offset = r * classes;
        for (let c = 0; c < classes; ++c) {
          const difference = Math.abs(logits.data[offset + c] - batch.expected.flat[offset + c]);
          worst = Number.isNaN(difference) ? Infinity : Math.max(worst, difference);
        }
        if (argmax(logits.data, offset, classes) === argmax(batch.expected.flat, offset, classes)) ++identical;
        ++examples;
      }
    }
  } finally {
    await session.release();
  }

  const agreement = identical / examples;
  const ok = agreement >= minAgreement && (maxAbsDiff === undefined || worst <= maxAbsDiff);
  console.log(JSON.stringify({
    model: modelPath,
    fixture: options.fixture,
    optimization: options.session.optimization,
    batches: batches.length,
    examples,
    identical_argmax: identical,
    agreement,
    max_abs_diff: Number.isFinite(worst) ? worst : 'Infinity (NaN or inf in the logits)',
    thresholds: { min_agreement: minAgreement, max_abs_diff: maxAbsDiff ?? null },
    ok,
  }));
  return ok ? 0 : 1;
}

runMain('compare.mjs', main);
