// What the ONNX Runtime checks share: onnxruntime-node from the directory
// scripts/onnx/install.sh prints (WHITTLE_ORT_DIR), sessions opened alike,
// int64 feeds, and torch.argmax's tie-break.
import { createRequire } from 'node:module';
import path from 'node:path';

export class UsageError extends Error {}

export const optimizationLevels = ['disabled', 'basic', 'extended', 'all'];

export function loadOnnxRuntime() {
  const dir = process.env.WHITTLE_ORT_DIR;
  if (!dir) throw new UsageError('WHITTLE_ORT_DIR is not set: WHITTLE_ORT_DIR="$(scripts/onnx/install.sh)" node ...');
  // onnxruntime-node is CommonJS; a require() rooted in the install directory finds it.
  return createRequire(path.join(dir, 'package.json'))('onnxruntime-node');
}

// The CPU provider with `threads` intra-op threads and one inter-op thread.
export async function openSession(ort, modelPath, { optimization, threads }) {
  return ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: optimization,
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
  });
}

// --optimization and --threads, checked.
export function sessionOptions(values) {
  if (!optimizationLevels.includes(values.optimization)) {
    throw new UsageError(`--optimization must be one of ${optimizationLevels.join(', ')}, got ${values.optimization}`);
  }
  const threads = Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1) throw new UsageError(`--threads must be a positive integer, got ${values.threads}`);
  return { optimization: values.optimization, threads };
}

export function int64Tensor(ort, values, rows, columns) {
  return new ort.Tensor('int64', values, [rows, columns]);
}

// The first index of the largest value, as torch.argmax breaks ties.
export function argmax(values, offset, count) {
  let best = 0;
  for (let c = 1; c < count; ++c) if (values[offset + c] > values[offset + best]) best = c;
  return best;
}

// Exit codes: main's (0 pass, 1 fail), 2 for bad arguments or inputs.
export function runMain(name, main) {
  main().then(
    (code) => { process.exitCode = code; },
    (error) => {
      console.error(`${name}: ${error instanceof UsageError ? '' : 'error: '}${error.message}`);
      process.exitCode = 2;
    },
  );
}
