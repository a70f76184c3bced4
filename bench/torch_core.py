#!/usr/bin/python3
"""PyTorch peer of `mtgan bench core` (src/launch/corebench.c) for both DESIGN §4 networks.

Times one full GAN training step on 1 CPU thread, batch 64, after warm-up, structured
exactly like mtg_gan_step in src/core/gan.c:

  1. G forward on z ~ N(0, 1)                                   (batch 64)
  2. D forward on [real; fake.detach()] in ONE pass              (batch 128)
     non-saturating BCE-with-logits, D backward, Adam on D
  3. D forward on fake through the *updated* D                   (batch 64)
     G loss BCE(D(fake), 1), backward through D into G, Adam on G
     (D's parameters are frozen for this pass by default, so only dL/dx flows
     through D, as the C side does; --d-grads-in-g-step also computes D's
     unused weight gradients, like bench/peer_torch.py)

Adam lr 2e-4, betas (0.5, 0.999), as in peer_torch.py.

Architectures (DESIGN §4):
  mlp    G z(32) -> 128 ReLU -> 256 ReLU -> 64 sigmoid
         D 64 -> 256 LeakyReLU(0.2) -> 128 LeakyReLU(0.2) -> 1
  dcgan  G z(64) -> Linear 128*7*7 -> 128x7x7 -> BN ReLU -> ConvT(128,64,4,2,1) -> BN ReLU
           -> ConvT(64,1,4,2,1) -> tanh
         D Conv(1,64,4,2,1) LReLU(0.2) -> Conv(64,128,4,2,1) LReLU(0.2) -> flatten -> Linear(6272, 1)

FLOPs per step count only matmul work (Linear, Conv2d, ConvTranspose2d as their
GEMM-equivalents: forward 2*M*N*K; backward = 2x forward for weight + input gradients):

  flops_per_step     = 3 * (G(64) + D(128) + D(64))     (the convention of DESIGN §14: 77 MFLOP for mlp)
  flops_per_step_min = the same, without the GEMMs no one needs (dX of G's first layer and of
                       D's first layer in the D pass, dW of D in the G pass)

Besides wall-clock steps/s it reports steps per second of the timing thread's CPU time
(torch_steps_per_cpu_s), which a loaded shared machine disturbs much less.

Usage:
  /usr/bin/python3 bench/torch_core.py [--arch mlp|dcgan|both] [--steps N] [--json FILE]
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as e:  # keep the same "skipped" convention as peer_torch.py
    print(json.dumps({"peer": "pytorch", "skipped": "python3-torch not installed: %s" % e}))
    sys.exit(0)

BATCH = 64
ADAM = dict(lr=2e-4, betas=(0.5, 0.999))
# Default timed steps and warm-up steps per architecture (dcgan is ~130x the work of mlp).
DEFAULT_STEPS = {"mlp": 2000, "dcgan": 30}
WARMUP = {"mlp": 200, "dcgan": 5}


def build_mlp():
    g = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 256), nn.ReLU(),
                      nn.Linear(256, 64), nn.Sigmoid())
    d = nn.Sequential(nn.Linear(64, 256), nn.LeakyReLU(0.2), nn.Linear(256, 128), nn.LeakyReLU(0.2),
                      nn.Linear(128, 1))
    return g, d, 32, (64,), 0.0  # sigmoid pixels in [0, 1]


def build_dcgan():
    g = nn.Sequential(
        nn.Linear(64, 128 * 7 * 7),
        nn.Unflatten(1, (128, 7, 7)),
        nn.BatchNorm2d(128), nn.ReLU(),
        nn.ConvTranspose2d(128, 64, 4, 2, 1),
        nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1),
        nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(128 * 7 * 7, 1))
    for m in list(g.modules()) + list(d.modules()):  # DCGAN init (Radford et al. 2016)
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
    return g, d, 64, (1, 28, 28), -1.0  # tanh images in [-1, 1]


ARCHS = {"mlp": build_mlp, "dcgan": build_dcgan}


def gemm_list(net, in_shape):
    """[(M, N, K)] per sample (M counts rows for batch 1) of every Linear / Conv2d /
    ConvTranspose2d in net, found by a forward pass with hooks."""
    out = []

    def hook(mod, inp, outp):
        x, y = inp[0], outp
        if isinstance(mod, nn.Linear):
            out.append((1, mod.out_features, mod.in_features))
        elif isinstance(mod, nn.Conv2d):  # im2col: [Ho*Wo, Cin*k*k] x [Cin*k*k, Cout]
            kh, kw = mod.kernel_size
            out.append((y.shape[2] * y.shape[3], mod.out_channels, mod.in_channels * kh * kw))
        elif isinstance(mod, nn.ConvTranspose2d):  # col2im: [Hi*Wi, Cin] x [Cin, Cout*k*k]
            kh, kw = mod.kernel_size
            out.append((x.shape[2] * x.shape[3], mod.out_channels * kh * kw, mod.in_channels))

    hs = [m.register_forward_hook(hook) for m in net.modules()
          if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))]
    was = net.training
    net.eval()
    with torch.no_grad():
        net(torch.zeros((2,) + tuple(in_shape)))
    net.train(was)
    for h in hs:
        h.remove()
    return out


def fwd_flops(gemms, batch):
    return sum(2 * batch * m * n * k for m, n, k in gemms)


def step_flops(g_gemms, d_gemms):
    b = BATCH
    g, d2, d1 = fwd_flops(g_gemms, b), fwd_flops(d_gemms, 2 * b), fwd_flops(d_gemms, b)
    simple = 3 * (g + d2 + d1)
    first = lambda gemms, batch: fwd_flops(gemms[:1], batch)  # noqa: E731
    minimal = (g + g + (g - first(g_gemms, b))          # G fwd, dW, dX except first layer
               + d2 + d2 + (d2 - first(d_gemms, 2 * b))  # D pass: fwd, dW, dX except first layer
               + d1 + d1)                                # G pass through D: fwd, dX only
    return simple, minimal


def make_step(g, d, zdim, data_shape, lo, freeze_d):
    og = torch.optim.Adam(g.parameters(), **ADAM)
    od = torch.optim.Adam(d.parameters(), **ADAM)
    bce = nn.BCEWithLogitsLoss()
    real = torch.rand((BATCH,) + data_shape) * (1.0 - lo) + lo
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    dparams = list(d.parameters())

    def step():
        z = torch.randn(BATCH, zdim)
        fake = g(z)
        od.zero_grad(set_to_none=True)
        logits = d(torch.cat([real, fake.detach()]))
        ld = bce(logits[:BATCH], ones) + bce(logits[BATCH:], zeros)
        ld.backward()
        od.step()
        og.zero_grad(set_to_none=True)
        if freeze_d:
            for p in dparams:
                p.requires_grad_(False)
        lg = bce(d(fake), ones)
        lg.backward()
        if freeze_d:
            for p in dparams:
                p.requires_grad_(True)
        og.step()

    return step


def bench_arch(name, steps, freeze_d, repeat):
    torch.manual_seed(1)
    g, d, zdim, data_shape, lo = ARCHS[name]()
    g.train()
    d.train()
    flops, flops_min = step_flops(gemm_list(g, (zdim,)), gemm_list(d, data_shape))
    step = make_step(g, d, zdim, data_shape, lo, freeze_d)
    for _ in range(WARMUP[name]):
        step()
    rates, cpu_rates = [], []
    for _ in range(repeat):
        c0, t0 = time.thread_time(), time.perf_counter()
        for _ in range(steps):
            step()
        t1, c1 = time.perf_counter(), time.thread_time()
        rates.append(steps / (t1 - t0))
        cpu_rates.append(steps / max(c1 - c0, 1e-9))
    sps = statistics.median(rates)
    return {
        "torch_steps_s": sps,
        "flops_per_step": flops,
        "flops_per_step_min": flops_min,
        "gflops": sps * flops / 1e9,
        "steps": steps,
        "repeat": repeat,
        "all_steps_s": rates,
        # steps per second of this thread's CPU time: what the step costs when the (shared,
        # noisy) machine does not preempt us; with 1 torch thread all compute runs in this thread
        "torch_steps_per_cpu_s": statistics.median(cpu_rates),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", choices=["mlp", "dcgan", "both"], default="both")
    ap.add_argument("--steps", type=int, default=0,
                    help="timed steps per architecture (default mlp %d, dcgan %d)"
                    % (DEFAULT_STEPS["mlp"], DEFAULT_STEPS["dcgan"]))
    ap.add_argument("--repeat", type=int, default=1, help="timed windows; the median is reported")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--d-grads-in-g-step", action="store_true",
                    help="also compute D's weight gradients in G's pass (like peer_torch.py)")
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON (- = one line on stdout)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    archs = ["mlp", "dcgan"] if a.arch == "both" else [a.arch]
    res = {}
    for name in archs:
        n = a.steps if a.steps > 0 else DEFAULT_STEPS[name]
        r = bench_arch(name, n, not a.d_grads_in_g_step, max(1, a.repeat))
        res[name] = r
        print("%-6s torch %s, %d thread(s), batch %d: %9.2f steps/s (%9.2f per CPU-s)  %8.2f MFLOP/step "
              "(min %.2f)  %6.2f GFLOP/s" % (name, torch.__version__, a.threads, BATCH, r["torch_steps_s"],
                                              r["torch_steps_per_cpu_s"], r["flops_per_step"] / 1e6,
                                              r["flops_per_step_min"] / 1e6, r["gflops"]),
              file=sys.stderr if a.json == "-" else sys.stdout)
    if a.json:
        meta = {"peer": "pytorch", "version": torch.__version__, "threads": a.threads, "batch": BATCH,
                "d_grads_in_g_step": a.d_grads_in_g_step}
        if a.json == "-":  # one line on stdout, for `mtgan bench core`
            print(json.dumps(dict(res, meta=meta)))
        else:
            with open(a.json, "w") as f:
                json.dump(dict(res, meta=meta), f, indent=2)
                f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
