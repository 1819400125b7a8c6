__version__ = "0.3.1"

import os
if os.environ.get('IN_TEST') and 'OMP_NUM_THREADS' not in os.environ:
    # nbdev_test runs one notebook per core at once; torch's default of one thread per core each would oversubscribe the
    # CPU, and OpenMP's waiting threads then make small ops (batch norm above all) ten times slower. One thread per notebook.
    import torch
    torch.set_num_threads(1)
