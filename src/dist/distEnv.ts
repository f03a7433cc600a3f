// Where this process stands in a data-parallel job, read from the variables the usual launchers set:
// torchrun (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), SLURM (SLURM_PROCID,
// SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE, with MASTER_ADDR/MASTER_PORT), or our own --nproc-per-node.

export interface DistEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  /** Processes on this machine (for the default thread count). */
  localWorldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Which variables it came from, for messages. */
  source: 'torchrun' | 'slurm';
}

export class DistEnvError extends Error {
  readonly code = 'MDISTILL_BAD_ARGUMENT';
}

function intVar(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const raw = env[name];
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isInteger(n) || n < min) {
    throw new DistEnvError(`environment variable ${name}='${raw ?? ''}' must be an integer >= ${min}`);
  }
  return n;
}

function optionalInt(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  return env[name] === undefined || env[name] === '' ? undefined : intVar(env, name, min);
}

/** null when no launcher variables are set (a single process). */
export function distEnvFrom(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  let d: Omit<DistEnv, 'masterAddr' | 'masterPort'>;
  if (env.RANK !== undefined && env.WORLD_SIZE !== undefined) {
    const worldSize = intVar(env, 'WORLD_SIZE', 1);
    const rank = intVar(env, 'RANK', 0);
    d = {
      rank, worldSize, localRank: optionalInt(env, 'LOCAL_RANK', 0) ?? rank,
      localWorldSize: optionalInt(env, 'LOCAL_WORLD_SIZE', 1) ?? worldSize, source: 'torchrun',
    };
  } else if (env.SLURM_PROCID !== undefined && env.SLURM_NTASKS !== undefined) {
    const worldSize = intVar(env, 'SLURM_NTASKS', 1);
    const rank = intVar(env, 'SLURM_PROCID', 0);
    // SLURM_NTASKS_PER_NODE may read like "4(x2)"; its leading number is this node's count.
    const perNode = env.SLURM_NTASKS_PER_NODE ? Number.parseInt(env.SLURM_NTASKS_PER_NODE, 10) : NaN;
    d = {
      rank, worldSize, localRank: optionalInt(env, 'SLURM_LOCALID', 0) ?? 0,
      localWorldSize: Number.isInteger(perNode) && perNode >= 1 ? perNode : 1, source: 'slurm',
    };
  } else {
    return null;
  }
  if (d.rank >= d.worldSize) throw new DistEnvError(`rank ${d.rank} is outside 0..${d.worldSize - 1} (${d.source} variables)`);
  if (d.worldSize === 1) return null;
  const masterAddr = env.MASTER_ADDR;
  if (!masterAddr) {
    throw new DistEnvError(`${d.source} says ${d.worldSize} processes but MASTER_ADDR is not set: export MASTER_ADDR (rank 0's host) and MASTER_PORT`);
  }
  const masterPort = optionalInt(env, 'MASTER_PORT', 1) ?? 29500;
  if (masterPort > 65535) throw new DistEnvError(`MASTER_PORT=${masterPort} is not a TCP port`);
  return { ...d, masterAddr, masterPort };
}
