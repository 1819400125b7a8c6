"""A pretend accelerator for a CPU-only machine: tensors moved to `cuda` stay on the CPU but are marked, and any
operation that mixes a marked tensor with an unmarked one raises `DeviceMismatch`, as CUDA would raise.

PyTorch's own `FakeTensorMode` cannot stand in here: on a CPU-only build it refuses `.to('cuda')` and random
initialisation ("PyTorch is not linked with support for cuda devices"), and it has no values, so fastai's loop,
`.item()` and the evaluations cannot run. This mode runs the real arithmetic on the CPU and checks only where each
tensor would live. The rules it enforces are CUDA's:
- every tensor argument of an operation on the device must be on the device, except 0-dim CPU tensors (scalars);
- a tensor on the device may be indexed by CPU indices, and `copy_` may cross devices;
- a tensor on the device cannot become a numpy array (`.cpu()` first).
`tensor.device` and `.is_cuda` report the mark, and attributes that are tensors (`.data`, `.grad`, `.T`) carry it; `.to`, `.cuda`, `.cpu` move it; factory
functions given `device='cuda'` make marked tensors; `Module.to('cuda')` marks parameters and buffers.
"""
from __future__ import annotations
from contextlib import contextmanager
from unittest import mock
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

class DeviceMismatch(RuntimeError):
    "Tensors on two devices met in one operation (or a device tensor was turned into numpy)"

_EXEMPT = {'copy_', 'to', 'cuda', 'cpu', '__setitem__', '__reduce_ex__', '__deepcopy__', 'set_', '_has_compatible_shallow_copy_type'}
_INDEXING = {'__getitem__', 'index_put_', '__setitem__'}

class FakeAccelerator(TorchFunctionMode):
    "Run on the CPU as if tensors moved to `device` were on an accelerator; raise `DeviceMismatch` where CUDA would"
    def __init__(self, device:str='cuda'):
        super().__init__()
        self.device, self.marked = torch.device(device), WeakIdKeyDictionary()

    def on(self, t)->bool: return isinstance(t, torch.Tensor) and t in self.marked
    def _mark(self, out):
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor): self.marked[t] = True
        return out
    def _target(self, func, args, kwargs):
        "Where `.to`/`.cuda`/`.cpu` sends a tensor: 'fake', 'cpu', or None (a dtype change only)"
        name = func.__name__
        if name == 'cuda': return 'fake'
        if name == 'cpu': return 'cpu'
        dev = kwargs.get('device')
        for a in args[1:]:
            if isinstance(a, (str, torch.device)): dev = a
            elif isinstance(a, torch.Tensor): return 'fake' if self.on(a) else 'cpu'
        if dev is None: return None
        return 'fake' if torch.device(dev).type == self.device.type else 'cpu'

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, '__name__', '')
        if name in ('__get__', '__set__'):
            attr, t = func.__self__.__name__, args[0]
            if name == '__set__':
                if attr == 'data':
                    if self.on(args[1]): self.marked[t] = True
                    else: self.marked.pop(t, None)
                return func(*args, **kwargs)
            if attr == 'device': return self.device if self.on(t) else func(*args)
            if attr == 'is_cuda': return self.on(t)
            if attr == 'is_cpu': return not self.on(t)
            out = func(*args, **kwargs)
            if isinstance(out, torch.Tensor) and self.on(t): self.marked[out] = True  # .data, .grad, .T, .mT ... live where t does
            return out
        if name in ('to', 'cuda', 'cpu') and args and isinstance(args[0], torch.Tensor):
            target, t = self._target(func, args, kwargs), args[0]
            if target is not None:
                rest = ['cpu' if isinstance(a, (str, torch.device)) else a.dtype if isinstance(a, torch.Tensor) else a for a in args[1:]]
                out = t.to(*rest, **(kwargs | ({'device': 'cpu'} if 'device' in kwargs else {}))) if name == 'to' else t
                if out is t: out = t.view_as(t) if t.requires_grad or not t.is_leaf else t.detach().view_as(t)
                if target == 'fake': self.marked[out] = True
                else: self.marked.pop(out, None)
                return out
        if name in ('numpy', '__array__') and args and self.on(args[0]):
            raise DeviceMismatch(f"can't convert a {self.device.type} tensor to numpy: call .cpu() first")
        dev = kwargs.get('device')
        if name == '_parse_to': return func(*args, **kwargs)  # reads a device argument (fastai's DataLoader.device), makes nothing
        if dev is not None and torch.device(dev).type == self.device.type:  # a factory function asked for the device
            return self._mark(func(*args, **(kwargs | {'device': 'cpu'})))
        tensors = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        on = [t for t in tensors if self.on(t)]
        if on and name not in _EXEMPT:
            off = [t for t in tensors if not self.on(t) and t.dim() > 0]
            if name in _INDEXING and self.on(args[0]): off = []  # CPU indices into a device tensor are fine
            if off: raise DeviceMismatch(f"{name}: a tensor on {self.device} meets a CPU tensor of shape {tuple(off[0].shape)}")
        elif not on and name in ('__getitem__',) and len(tensors) > 1 and any(self.on(t) for t in tensors[1:]):
            raise DeviceMismatch(f"{name}: a CPU tensor indexed by indices on {self.device}")
        out = func(*args, **kwargs)
        if on and not (name.endswith('_') and not name.endswith('__')): self._mark(out)
        return out

@contextmanager
def fake_accelerator(device:str='cuda'):
    "Within: `FakeAccelerator` is on, and the runner and results accept `device` as if the machine had it"
    import aae_nb.runner
    real = aae_nb.runner.device_available
    mode, as_subclass = FakeAccelerator(device), torch.Tensor.as_subclass
    def as_subclass_keeping_the_mark(t, cls):  # `as_subclass` (fastai's CastToTensor) bypasses torch function modes
        out = as_subclass(t, cls)
        if mode.on(t): mode.marked[out] = True
        return out
    with mock.patch.object(aae_nb.runner, 'device_available', lambda d: d.type == torch.device(device).type or real(d)), \
         mock.patch.object(torch.cuda, 'get_device_name', lambda *a, **k: 'FakeAccelerator'), \
         mock.patch.object(torch.Tensor, 'as_subclass', as_subclass_keeping_the_mark), mode:
        yield mode
