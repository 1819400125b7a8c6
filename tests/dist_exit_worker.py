"""One process of tests/test_distributed.py's exit test, under `torchrun --standalone --nproc_per_node 2`:
`python dist_exit_worker.py [plain]` joins the process group (with `join_processes`, or with `plain` torch's own
`init_process_group`), averages a few tensors, and exits without leaving the group, the second process 2 s after the first."""
import sys, time
import torch
import torch.distributed as dist
from aae_nb.distributed import join_processes, average

if sys.argv[1:] == ['plain']: dist.init_process_group('gloo')
else: join_processes('cpu')
for _ in range(50): average([torch.ones(1000)], 2)
if dist.get_rank() == 1: time.sleep(2)
