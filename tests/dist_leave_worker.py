"""One process of tests/test_distributed.py's leave test, under `torchrun --standalone --nproc_per_node 2`:
`python dist_leave_worker.py [plain]` joins the process group (with `join_processes`, or with `plain` torch's own
`init_process_group`), makes an optimizer (torch.optim imports torch.distributed.nn the first time, through torch._dynamo),
averages a tensor, leaves the group, and prints how many threads the process had before joining and after leaving."""
import os, sys
import torch
import torch.distributed as dist
from aae_nb.distributed import join_processes, leave_processes, average

threads = lambda: len(os.listdir('/proc/self/task'))
before = threads()
if sys.argv[1:] == ['plain']: dist.init_process_group('gloo')
else: join_processes('cpu')
torch.optim.AdamW(torch.nn.Linear(2, 2).parameters())
average([torch.ones(10)], 2)
leave_processes(together=True)
print(f"threads before joining {before}, after leaving {threads()}")
