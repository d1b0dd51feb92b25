#!/usr/bin/env node
// Tables of bench/onnx_agreement.sh and bench/onnx_speed.sh: reads their JSON
// lines and writes PREFIX.csv and PREFIX.md.
//
//   node bench/onnx_tables.mjs agreement|speed RESULTS.jsonl PREFIX
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

const [kind, input, prefix] = process.argv.slice(2);
if (!['agreement', 'speed'].includes(kind) || !input || !prefix) {
  console.error('usage: node bench/onnx_tables.mjs agreement|speed RESULTS.jsonl PREFIX');
  process.exit(2);
}
const records = readFileSync(input, 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));

function writeAtomically(path, text) {
  writeFileSync(`${path}.tmp-${process.pid}`, text);
  renameSync(`${path}.tmp-${process.pid}`, path);
}

function markdown(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

function csv(header, rows) {
  return [header, ...rows].map((cells) => cells.join(',')).join('\n') + '\n';
}

const percent = (x, digits = 2) => `${(100 * x).toFixed(digits)} %`;

function agreementTable() {
  const header = ['model', 'ORT optimization', 'reviews', 'identical predictions', 'share', 'max abs logit difference',
                  'accuracy whittle', 'accuracy ORT', 'ONNX bytes'];
  const rows = records.map((r) => [r.name, r.optimization, r.examples, r.identical_predictions, r.agreement,
                                   r.max_abs_diff, r.reference_accuracy, r.accuracy, r.export.bytes]);
  const shown = rows.map(([name, level, n, same, share, diff, a, b, bytes]) =>
    [name, level, n, same, percent(share, 3), Number(diff).toExponential(2), percent(a), percent(b), bytes]);
  return { header, rows, shown };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

// tokens/s per engine and round, and each as a ratio to `whittle eval` of the
// float model in the same round.
function speedTable() {
  const baseline = 'whittle-eval-float';
  const header = ['engine', 'round', 'load before', 'reviews', 'seconds', 'tokens/s', 'ratio to whittle eval float'];
  const rows = records.map((r) => {
    const base = records.find((b) => b.round === r.round && b.engine === baseline);
    return [r.engine, r.round, r.load_before, r.examples, r.seconds.toFixed(2), Math.round(r.tokens_per_second),
            (r.tokens_per_second / base.tokens_per_second).toFixed(3)];
  });
  const engines = [...new Set(records.map((r) => r.engine))];
  const summary = engines.map((engine) => {
    const mine = rows.filter((row) => row[0] === engine);
    const ratios = mine.map((row) => Number(row[6]));
    return [engine, Math.round(median(mine.map((row) => row[5]))), median(ratios).toFixed(3), Math.min(...ratios).toFixed(3), Math.max(...ratios).toFixed(3)];
  });
  return { header, rows, shown: rows, summary };
}

const table = kind === 'agreement' ? agreementTable() : speedTable();
writeAtomically(`${prefix}.csv`, csv(table.header, table.rows));
let text = markdown(table.header, table.shown);
if (table.summary) {
  text = markdown(['engine', 'median tokens/s', 'median ratio', 'min ratio', 'max ratio'], table.summary) + '\nEvery pass:\n\n' + text;
}
writeAtomically(`${prefix}.md`, text);
process.stdout.write(text);
