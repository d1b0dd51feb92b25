#!/usr/bin/env node
// Runs a model from `whittle export --format onnx` in onnxruntime-node over
// the IMDb batches bench/onnx_reference wrote, timing the pass, and, given
// that program's output for the same model, compares the logits with
// whittle's simulated model.
//
// Usage:
//   WHITTLE_ORT_DIR="$(scripts/onnx/install.sh)" node scripts/onnx/imdb.mjs
//     --model MODEL.onnx --batches DIR/batches.bin [--reference DIR]
//     [--optimization disabled|basic|extended|all] [--threads 2]
//
// Each batch is fed as whittle formed it, padding included (an l1-norm input
// mask's quantile covers its whole padded batch). Prints one JSON line: the
// examples, real (unpadded) tokens, seconds of the pass (session.run only;
// the session is opened and the batches read before the clock starts),
// tokens/s and reviews/s, accuracy, and with --reference the largest logit
// difference and the share of identical predictions.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { UsageError, argmax, int64Tensor, loadOnnxRuntime, openSession, runMain, sessionOptions } from './ort.mjs';

function parseOptions() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      batches: { type: 'string' },
      reference: { type: 'string' },
      optimization: { type: 'string', default: 'all' },
      threads: { type: 'string', default: '2' },
    },
    strict: true,
  });
  if (!values.model || !values.batches) throw new UsageError('--model MODEL.onnx and --batches batches.bin are required');
  return { model: values.model, batches: values.batches, reference: values.reference, session: sessionOptions(values) };
}

// batches.bin: per batch int64 rows, length, ids[rows*length], mask[rows*length], labels[rows].
async function readBatches(ort, file) {
  const bytes = await readFile(file);
  const words = new BigInt64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const batches = [];
  let at = 0;
  const take = (count) => {
    if (at + count > words.length) throw new UsageError(`${file} ends inside batch ${batches.length}`);
    const part = words.slice(at, at + count);
    at += count;
    return part;
  };
  while (at < words.length) {
    const [rows, length] = Array.from(take(2), Number);
    const ids = take(rows * length);
    const mask = take(rows * length);
    const labels = Array.from(take(rows), Number);
    const realTokens = mask.reduce((sum, x) => sum + Number(x), 0);
    batches.push({ rows, feeds: { input_ids: int64Tensor(ort, ids, rows, length), attention_mask: int64Tensor(ort, mask, rows, length) },
                   labels, realTokens });
  }
  return batches;
}

async function readReference(directory, examples) {
  const summary = JSON.parse(await readFile(path.join(directory, 'reference.json'), 'utf8'));
  const bytes = await readFile(path.join(directory, 'logits.bin'));
  const logits = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  if (summary.examples !== examples || logits.length !== examples * summary.num_labels) {
    throw new UsageError(`${directory} holds logits of ${summary.examples} examples, the batches ${examples}`);
  }
  return { summary, logits };
}

async function main() {
  const options = parseOptions();
  const ort = loadOnnxRuntime();
  const batches = await readBatches(ort, options.batches);
  const session = await openSession(ort, options.model, options.session);
  const outputs = [];
  const start = process.hrtime.bigint();
  for (const batch of batches) outputs.push((await session.run(batch.feeds)).logits);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await session.release();

  const examples = batches.reduce((sum, b) => sum + b.rows, 0);
  const tokens = batches.reduce((sum, b) => sum + b.realTokens, 0);
  const reference = options.reference ? await readReference(options.reference, examples) : undefined;
  let correct = 0, identical = 0, worst = 0, row = 0;
  for (const [b, batch] of batches.entries()) {
    const [rows, classes] = outputs[b].dims;
    for (let r = 0; r < rows; ++r, ++row) {
      const predicted = argmax(outputs[b].data, r * classes, classes);
      if (predicted === batch.labels[r]) ++correct;
      if (!reference) continue;
      if (predicted === argmax(reference.logits, row * classes, classes)) ++identical;
      for (let c = 0; c < classes; ++c) {
        const difference = Math.abs(outputs[b].data[r * classes + c] - reference.logits[row * classes + c]);
        worst = Number.isNaN(difference) ? Infinity : Math.max(worst, difference);
      }
    }
  }
  const result = {
    model: options.model,
    optimization: options.session.optimization,
    threads: options.session.threads,
    batches: batches.length,
    examples,
    real_tokens: tokens,
    seconds,
    tokens_per_second: tokens / seconds,
    reviews_per_second: examples / seconds,
    accuracy: correct / examples,
  };
  if (reference) {
    Object.assign(result, {
      reference: options.reference,
      reference_accuracy: reference.summary.accuracy,
      identical_predictions: identical,
      agreement: identical / examples,
      max_abs_diff: Number.isFinite(worst) ? worst : 'Infinity (NaN or inf in the logits)',
    });
  }
  console.log(JSON.stringify(result));
  return 0;
}

runMain('imdb.mjs', main);
