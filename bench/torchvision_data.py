"""The peer of bench/data.mjs: torchvision's DataLoader over the same ImageFolder with DeiT-style train
transforms (RandomResizedCrop 224 bicubic, flip, RandAugment n=2 m=9, ToTensor, Normalize, RandomErasing 0.25).
timm is not in Debian, so torchvision's RandAugment stands in for timm's (same op count and magnitude).
Prints one JSON line."""
import argparse
import json
import time

import torch
from torchvision import datasets, transforms

p = argparse.ArgumentParser()
p.add_argument('--root', required=True)
p.add_argument('--workers', type=int, default=2)
p.add_argument('--batch-size', type=int, default=64)
p.add_argument('--size', type=int, default=224)
a = p.parse_args()

torch.manual_seed(0)
tf = transforms.Compose([
    transforms.RandomResizedCrop(a.size, scale=(0.08, 1.0), interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.RandomHorizontalFlip(),
    transforms.RandAugment(num_ops=2, magnitude=9, interpolation=transforms.InterpolationMode.BICUBIC),
    transforms.ToTensor(),
    transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    transforms.RandomErasing(p=0.25, value='random'),
])
ds = datasets.ImageFolder(a.root, transform=tf)
dl = torch.utils.data.DataLoader(ds, batch_size=a.batch_size, shuffle=True, num_workers=a.workers, drop_last=True,
                                 persistent_workers=a.workers > 0, prefetch_factor=2 if a.workers > 0 else None)
# Warm-up: start the workers and fill their queues.
it = iter(dl)
for _ in range(min(3, len(dl))):
    next(it)
del it
n = 0
t0 = time.perf_counter()
for x, y in dl:
    n += x.shape[0]
dt = time.perf_counter() - t0
print(json.dumps({'peer': 'torchvision', 'torchvision': __import__('torchvision').__version__, 'workers': a.workers,
                  'images': n, 'seconds': dt, 'img_per_s': n / dt}))
