#!/usr/bin/python3
"""PyTorch peer of mtgan's core benchmark: the same GAN step (DESIGN §4 networks,
batch 64, non-saturating loss, Adam 2e-4 / 0.5 / 0.999) on 1 CPU thread.
Prints one JSON line: {"peer": "pytorch", "version", "steps_per_s", "threads"}."""
import json
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as e:  # reported as skipped by `mtgan bench core`
    print(json.dumps({"peer": "pytorch", "skipped": "python3-torch not installed: %s" % e}))
    sys.exit(0)

torch.set_num_threads(1)
torch.manual_seed(1)
G = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 64), nn.Sigmoid())
D = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.2), nn.Linear(256, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))
og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()
real = torch.rand(64, 64)
ones, zeros = torch.ones(64, 1), torch.zeros(64, 1)


def step():
    z = torch.randn(64, 32)
    fake = G(z)
    od.zero_grad()
    # One D pass over [real; fake], like the C implementation.
    logits = D(torch.cat([real, fake.detach()]))
    ld = bce(logits[:64], ones) + bce(logits[64:], zeros)
    ld.backward()
    od.step()
    og.zero_grad()
    lg = bce(D(fake), ones)
    lg.backward()
    og.step()


for _ in range(200):
    step()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
t0 = time.perf_counter()
for _ in range(n):
    step()
dt = time.perf_counter() - t0
print(json.dumps({"peer": "pytorch", "version": torch.__version__, "steps_per_s": n / dt, "threads": 1}))
