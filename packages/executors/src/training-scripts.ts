/**
 * Tiny real training programs for the framework tests (local and Slurm executors): each runs for
 * seconds on CPU with Debian's python3-torch (gloo) or python3-mpi4py and writes what it saw to
 * `<out>/…` so a test can check the world it was part of. Test support only.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

/** Debian's interpreter: python3-torch and python3-mpi4py are installed for it, not for a python3 earlier on PATH. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Whether `/usr/bin/python3` can import `module` (tests that need it are skipped, with the reason, when not). */
export function pythonHas(module: string): boolean {
  if (!existsSync(SYSTEM_PYTHON)) return false;
  return (
    spawnSync(SYSTEM_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 }).status === 0
  );
}

/**
 * torchrun worker: joins the gloo world torchrun built, all-reduces its global rank, and writes
 * `<out>/rank-<RANK>.json` with what it saw.
 */
export const TORCH_ALLREDUCE = `
import json, os, sys
import torch
import torch.distributed as dist
out = sys.argv[1]
dist.init_process_group("gloo")
t = torch.tensor([float(dist.get_rank())])
dist.all_reduce(t)
rec = {
    "rank": dist.get_rank(),
    "world": dist.get_world_size(),
    "sum": t.item(),
    "local_rank": int(os.environ["LOCAL_RANK"]),
    "node_rank": int(os.environ.get("GROUP_RANK", "-1")),
    "replica": int(os.environ["SUANLI_REPLICA_RANK"]),
    "cuda_visible": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
}
with open(os.path.join(out, "rank-%d.json" % dist.get_rank()), "w") as f:
    json.dump(rec, f)
dist.destroy_process_group()
`;

/** mpi4py: all-reduces the world rank; rank 0 writes `<out>/mpi.json`. */
export const MPI_ALLREDUCE = `
import json, os, sys
from mpi4py import MPI
comm = MPI.COMM_WORLD
total = comm.allreduce(comm.Get_rank(), op=MPI.SUM)
hosts = comm.gather(MPI.Get_processor_name(), root=0)
if comm.Get_rank() == 0:
    with open(os.path.join(sys.argv[1], "mpi.json"), "w") as f:
        json.dump({"size": comm.Get_size(), "sum": total, "hosts": hosts}, f)
`;

/**
 * DDP training that checkpoints and resumes: trains a 1-parameter model for \`steps\` steps of
 * \`stepSeconds\` each, saving \`$SUANLI_CHECKPOINT_DIR/ckpt.pt\` every \`every\` steps (rank 0)
 * and appending a progress line (\`step=<n>\`, \`checkpoint=<n>\`) to \`$SUANLI_PROGRESS_FILE\`.
 * On start it resumes from the checkpoint when there is one. On SIGUSR1 (the platform asking it
 * to checkpoint before a stop) every rank agrees at the next step (an all-reduce of the flag),
 * rank 0 saves, and all exit 0. Launched per replica (RANK/WORLD_SIZE/MASTER_* of the pytorch
 * contract), not through torchrun. On attempt 1, rank FAIL_RANK (default 1) kills itself with
 * SIGKILL at step \`fail-at\` when given. argv: out steps every stepSeconds [fail-at]
 */
export const DDP_CHECKPOINT = `
import json, os, signal, sys, time
import torch
import torch.distributed as dist
out, steps, every, step_s = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
fail_at = int(sys.argv[5]) if len(sys.argv) > 5 else -1
ckdir = os.environ["SUANLI_CHECKPOINT_DIR"]
progress = os.environ["SUANLI_PROGRESS_FILE"]
attempt = int(os.environ["SUANLI_ATTEMPT"])
dist.init_process_group("gloo")
rank = dist.get_rank()
model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(1, 1, bias=False))
opt = torch.optim.SGD(model.parameters(), lr=0.01)
path = os.path.join(ckdir, "ckpt.pt")
start = 0
if os.path.exists(path):
    state = torch.load(path)
    model.module.load_state_dict(state["model"])
    start = state["step"]
def save(step):
    if rank == 0:
        torch.save({"model": model.module.state_dict(), "step": step}, path + ".tmp")
        os.replace(path + ".tmp", path)
        with open(progress, "a") as f:
            f.write("checkpoint=%d\\n" % step)
asked = []
signal.signal(signal.SIGUSR1, lambda *_: asked.append(1))
if rank == 0:
    with open(os.path.join(out, "start-%d.txt" % attempt), "w") as f:
        f.write(str(start))
step = start
while step < steps:
    x = torch.ones(4, 1)
    loss = model(x).pow(2).mean()
    opt.zero_grad(); loss.backward(); opt.step()
    step += 1
    if rank == 0:
        with open(progress, "a") as f:
            f.write("step=%d\\n" % step)
    if step % every == 0:
        save(step)
    flag = torch.tensor([1.0 if asked else 0.0])
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    if flag.item() > 0:
        save(step)
        if rank == 0:
            with open(os.path.join(out, "signalled-%d.txt" % attempt), "w") as f:
                f.write(str(step))
        sys.exit(0)
    if attempt == 1 and step == fail_at and rank == int(os.environ.get("FAIL_RANK", "1")):
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(step_s)
if rank == 0:
    with open(os.path.join(out, "done.json"), "w") as f:
        json.dump({"steps": step, "attempt": attempt, "start": start}, f)
dist.destroy_process_group()
`;
