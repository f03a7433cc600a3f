// Evaluation: top-1, top-5 and mean cross-entropy of a model over a validation source, in eval mode. The training
// run evaluates after each epoch, the orchestration checks its teacher with it, and `mdistill eval` runs it alone.
import type { EvalResult } from '../log/records.js';
import type { NativeModel } from '../model/nativeModel.js';
import { evaluateBatch } from '../native/index.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import type { EvalBatchSource } from './dataSources.js';

/** Top-1/top-5 over `val`; with a sharded val under several processes, the counts are summed over the ranks. */
export async function evaluateModel(model: NativeModel, val: EvalBatchSource, dist: DistContext = SINGLE_PROCESS): Promise<EvalResult> {
  let correct1 = 0, correct5 = 0, count = 0, lossSum = 0;
  for await (const batch of val.batches()) {
    try {
      const r = await evaluateBatch(model.raw, batch);
      correct1 += r.correct1;
      correct5 += r.correct5;
      count += r.count;
      lossSum += r.lossSum;
    } finally {
      batch.release();
    }
  }
  if (dist.worldSize > 1 && val.sharded) [correct1, correct5, count, lossSum] = await dist.sum([correct1, correct5, count, lossSum]);
  if (count === 0) throw new Error('the validation set is empty');
  return { acc1: (100 * correct1) / count, acc5: (100 * correct5) / count, loss: lossSum / count, samples: count };
}
