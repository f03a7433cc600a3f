// The records of a run's log.jsonl: one JSON object a line. The trainer writes them; the report reads them.

export interface LossTerms {
  /** The weighted total that was back-propagated. */
  total: number;
  /** CE against the (possibly soft) targets, before the (1 - alpha) weight. */
  base: number;
  /** The KD term, before the alpha weight (0 with distillation-type none). */
  kd: number;
  /** The manifold terms with their w_* weights applied, before beta: the same meaning as ManifoldLossTerms's
   *  sample/patch/rand (src/loss/manifoldLoss.ts). */
  sample: number;
  patch: number;
  rand: number;
}

export interface EvalResult {
  /** Accuracies in percent (0-100), as DeiT logs them; the report prints them with a % sign. */
  acc1: number;
  acc5: number;
  loss: number;
  samples: number;
}

/** Logged every --log-every steps. */
export interface StepRecord {
  kind: 'step';
  time: string;
  epoch: number;
  /** Global optimizer step, from 0. */
  step: number;
  lr: number;
  loss: LossTerms;
  imgPerS: number;
}

/** Logged at the end of each epoch. */
export interface EpochRecord {
  kind: 'epoch';
  time: string;
  epoch: number;
  step: number;
  seconds: number;
  imgPerS: number;
  train: { loss: number; acc1?: number };
  eval?: EvalResult;
  evalEma?: EvalResult;
}

/** The teacher's accuracy on a slice of val, checked before training. */
export interface TeacherCheckRecord {
  kind: 'teacher';
  time: string;
  eval: EvalResult;
  /** Chance-level top-1 accuracy in percent (100 / classes). */
  chance: number;
  warning?: string;
}

export interface SummaryRecord {
  kind: 'summary';
  time: string;
  seconds: number;
  best: { epoch: number; acc1: number };
  final: { eval?: EvalResult; evalEma?: EvalResult };
  badSamples: number;
}

export type LogRecord = StepRecord | EpochRecord | TeacherCheckRecord | SummaryRecord;
