#!/usr/bin/python3
"""Independent judge of exported mtgan generators (DESIGN §11), written apart from the C code.

It shares nothing with src/quality/: its own blob parser (numpy, DESIGN §8 / src/wire/blob.h),
its own generator rebuild, its own z stream (numpy's PCG64, not mtgan's RNG), its own
classifier (sklearn) and its own k-NN manifold metrics. Per task it reports, against the real
images of that task's class:

  fidelity   fraction of G's samples the classifier assigns to the task's class
  precision  Kynkäänniemi et al. 2019, k = 3: fraction of fakes inside the real k-NN manifold
  recall     Kynkäänniemi et al. 2019, k = 3: fraction of reals inside the fake k-NN manifold
  coverage   Naeem et al. 2020, k = 3: fraction of reals whose k-NN ball holds a fake
  density    Naeem et al. 2020, k = 3 (can exceed 1)
  fd         Fréchet distance between Gaussian fits (in the metric space)

in three settings, because k-NN metrics depend on the sample sizes:

  model    all --samples fakes against all real images of the class
  matched  fakes subsampled to the size of half B, against half A       } same sizes, same
  ceiling  real half B against real half A (the real-vs-real ceiling)   } splits: comparable
           (both averaged over --splits random halvings of the class's real images)

The fidelity ceiling is the classifier's accuracy on real images of the class it did not train on
(shuffled 5-fold cross-validation for digits, the test split for fashion-mnist). The ratios rec/ceil and
cov/ceil printed at the end are matched / ceiling (DESIGN §11 target: >= 0.6).

Datasets (see DATASETS at the bottom of the file; add one by writing a class like them):
  digits         8x8 UCI digits, data/digits.csv.gz (64 pixels 0..16, scaled /16 like
                 src/data/digits.c), tasks digit-0..9, metrics in pixel space, sklearn
                 classifier (--classifier svc|mlp|logreg); its fidelity ceiling is shuffled
                 stratified 5-fold cross-validation
  fashion-mnist  28x28 Fashion-MNIST from /usr/share/datasets/fashion-mnist (Debian package
                 dataset-fashion-mnist), tasks fashion-0..9, pixels /255 like src/data/fashion.c,
                 metrics in the 128-d penultimate features of a small CNN trained here with
                 torch and cached in ~/.cache/mtgan-judge/ (its own architecture, not mtgan's
                 judge); generators of any layer list (DCGAN-28) rebuilt with torch; without
                 --model-dir the script prints the CNN's test accuracy and the real-vs-real ceilings.

Usage:
  /usr/bin/python3 bench/judge.py --dataset digits --model-dir runs/demo-mtgan [--json out.json]
  /usr/bin/python3 bench/judge.py --dataset fashion-mnist            # CNN judge + ceilings only
  /usr/bin/python3 bench/judge.py --self-test                        # blob parser round trips
Needs Debian's python3-numpy, python3-sklearn (python3-scipy) and, for fashion-mnist, python3-torch.
"""
import argparse
import glob
import gzip
import json
import os
import re
import struct
import sys
import zlib

import numpy as np

# ---------------------------------------------------------------------------------------------
# Blob format (DESIGN §8, src/wire/blob.h, format version 1)
#
#   0     4   magic "MTGB"
#   4     2   u16 version = 1
#   6     2   u16 flags: bit0 zlib, other bits must be 0
#   8     4   u32 tensor count
#   12    ..  BODY
#   end-4 4   u32 zlib crc32 of every byte before it (covers the compressed body with zlib)
#   BODY without zlib: TABLE then PAYLOADS
#   BODY with zlib:    u64 raw_len, u64 comp_len, comp_len bytes of one zlib (RFC 1950) stream
#                      that inflates to exactly raw_len bytes of TABLE then PAYLOADS
#   TABLE: per tensor u16 name_len (1..255), name, u8 dtype (0 f32, 1 f16), u8 rank (1..4),
#          u32 dims[rank] (each >= 1), u64 payload_len (= prod(dims) * dtype size)
#   PAYLOADS: per tensor, table order, no padding, row-major little-endian.
# ---------------------------------------------------------------------------------------------
BLOB_MAGIC = b"MTGB"
BLOB_VERSION = 1
BLOB_ZLIB = 1
DTYPES = {0: np.dtype("<f4"), 1: np.dtype("<f2")}


class BlobError(ValueError):
    pass


def parse_blob(buf):
    """bytes of one blob -> dict name -> float32 ndarray (insertion order = blob order).
    Validates like src/wire/blob_decode.c: every length against the buffer, CRC, no trailing bytes."""
    if len(buf) < 16:
        raise BlobError("truncated: %d bytes, a blob has at least 16" % len(buf))
    if buf[:4] != BLOB_MAGIC:
        raise BlobError("bad magic %r (want b'MTGB')" % buf[:4])
    version, flags, count = struct.unpack_from("<HHI", buf, 4)
    if version != BLOB_VERSION:
        raise BlobError("format version %d, this judge reads %d" % (version, BLOB_VERSION))
    (want,) = struct.unpack_from("<I", buf, len(buf) - 4)
    got = zlib.crc32(buf[:-4]) & 0xFFFFFFFF
    if want != got:
        raise BlobError("CRC mismatch: trailer says %08x, content is %08x" % (want, got))
    if flags & ~BLOB_ZLIB:
        raise BlobError("unknown flags 0x%04x" % flags)
    body = buf[12:-4]
    if flags & BLOB_ZLIB:
        if len(body) < 16:
            raise BlobError("truncated zlib header")
        raw_len, comp_len = struct.unpack_from("<QQ", body, 0)
        if comp_len != len(body) - 16:
            raise BlobError("zlib stream claims %d bytes but %d follow" % (comp_len, len(body) - 16))
        d = zlib.decompressobj()
        body = d.decompress(body[16:])
        if not d.eof or d.unused_data or len(body) != raw_len:
            raise BlobError("zlib stream inflates to %d bytes (complete: %s), raw_len says %d"
                            % (len(body), d.eof, raw_len))
    off, table = 0, []

    def need(n, what):
        if len(body) - off < n:
            raise BlobError("truncated table: %s needs %d bytes, %d remain" % (what, n, len(body) - off))

    for i in range(count):
        need(2, "tensor %d name length" % i)
        (nlen,) = struct.unpack_from("<H", body, off)
        off += 2
        if not 1 <= nlen <= 255:
            raise BlobError("tensor %d has name length %d" % (i, nlen))
        need(nlen + 2, "tensor %d name, dtype, rank" % i)
        name = bytes(body[off:off + nlen]).decode("utf-8")
        off += nlen
        dtype, rank = body[off], body[off + 1]
        off += 2
        if dtype not in DTYPES:
            raise BlobError("tensor %r has unknown dtype %d" % (name, dtype))
        if not 1 <= rank <= 4:
            raise BlobError("tensor %r has rank %d" % (name, rank))
        need(4 * rank + 8, "tensor %r dims and payload length" % name)
        dims = struct.unpack_from("<%dI" % rank, body, off)
        off += 4 * rank
        (plen,) = struct.unpack_from("<Q", body, off)
        off += 8
        if 0 in dims:
            raise BlobError("tensor %r has a zero dim %s" % (name, dims))
        if plen != int(np.prod(dims, dtype=np.uint64)) * DTYPES[dtype].itemsize:
            raise BlobError("tensor %r payload length %d does not match dims %s" % (name, plen, dims))
        if any(name == t[0] for t in table):
            raise BlobError("duplicate tensor name %r" % name)
        table.append((name, DTYPES[dtype], dims, plen))
    out = {}
    for name, dt, dims, plen in table:
        need(plen, "payload of %r" % name)
        out[name] = np.frombuffer(body, dtype=dt, count=plen // dt.itemsize, offset=off) \
            .astype(np.float32).reshape(dims)
        off += plen
    if off != len(body):
        raise BlobError("%d bytes of trailing garbage after the payloads" % (len(body) - off))
    return out


def read_blob(path):
    with open(path, "rb") as f:
        return parse_blob(f.read())


def encode_blob(tensors, compress=False, f16=()):
    """dict name -> array -> blob bytes (for --self-test and for writing test fixtures)."""
    table, payloads = b"", b""
    for name, a in tensors.items():
        a = np.asarray(a, dtype=np.float32)
        code = 1 if name in f16 else 0
        p = a.astype(DTYPES[code]).tobytes()
        nb = name.encode()
        table += struct.pack("<H", len(nb)) + nb + struct.pack("<BB", code, a.ndim)
        table += struct.pack("<%dI" % a.ndim, *a.shape) + struct.pack("<Q", len(p))
        payloads += p
    body = table + payloads
    if compress:
        c = zlib.compress(body, 1)
        body = struct.pack("<QQ", len(body), len(c)) + c
    head = BLOB_MAGIC + struct.pack("<HHI", BLOB_VERSION, BLOB_ZLIB if compress else 0, len(tensors))
    buf = head + body
    return buf + struct.pack("<I", zlib.crc32(buf) & 0xFFFFFFFF)


# ---------------------------------------------------------------------------------------------
# MLP generator (src/server/export.c, src/wire/model.c): "g.<i>.w" [in, out], "g.<i>.b" [out]
# for i = 0, 1, ... until absent; y = x W + b. Optional "spec.g.act" (one f32 per layer, enum
# mtg_act of src/core/nn.h) and "spec.g.leaky_slope" (one f32); without them hidden layers are
# ReLU and the last sigmoid, slope 0.2 (export.c's defaults for train-local's blobs).
# ---------------------------------------------------------------------------------------------
ACT_NONE, ACT_RELU, ACT_LEAKY, ACT_SIGMOID, ACT_TANH = range(5)
ACT_NAMES = {ACT_NONE: "none", ACT_RELU: "relu", ACT_LEAKY: "leaky_relu", ACT_SIGMOID: "sigmoid",
             ACT_TANH: "tanh"}


def apply_act(x, act, slope):
    if act == ACT_NONE:
        return x
    if act == ACT_RELU:
        return np.maximum(x, 0)
    if act == ACT_LEAKY:
        return np.where(x > 0, x, slope * x)
    if act == ACT_SIGMOID:
        return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic
    if act == ACT_TANH:
        return np.tanh(x)
    raise BlobError("activation %r" % act)


class MLPGenerator:
    def __init__(self, tensors, prefix="g"):
        self.layers = []
        i = 0
        while "%s.%d.w" % (prefix, i) in tensors:
            w, b = tensors["%s.%d.w" % (prefix, i)], tensors.get("%s.%d.b" % (prefix, i))
            if w.ndim != 2 or b is None or b.shape != (w.shape[1],):
                raise BlobError("layer %d: want %s.%d.w [in, out] and .b [out], got %s and %s"
                                % (i, prefix, i, w.shape, None if b is None else b.shape))
            if self.layers and self.layers[-1][0].shape[1] != w.shape[0]:
                raise BlobError("layer %d takes %d inputs but layer %d gives %d"
                                % (i, w.shape[0], i - 1, self.layers[-1][0].shape[1]))
            self.layers.append((w.astype(np.float64), b.astype(np.float64)))
            i += 1
        if not self.layers:
            raise BlobError("no tensor %s.0.w: not an MLP generator" % prefix)
        n = len(self.layers)
        self.acts = [ACT_RELU] * (n - 1) + [ACT_SIGMOID]
        self.slope = 0.2
        act = tensors.get("spec.%s.act" % prefix)
        if act is not None:
            if act.shape != (n,) or np.any(act != np.round(act)) or np.any((act < 0) | (act > ACT_TANH)):
                raise BlobError("spec.%s.act = %s is not one activation per layer" % (prefix, act))
            self.acts = [int(a) for a in act]
        ls = tensors.get("spec.%s.leaky_slope" % prefix)
        if ls is not None:
            if ls.size != 1 or not 0 <= float(ls.flat[0]) < 1:
                raise BlobError("spec.%s.leaky_slope must be one value in [0, 1)" % prefix)
            self.slope = float(ls.flat[0])
        for name, a in tensors.items():
            if name.startswith(prefix + ".") and not np.all(np.isfinite(a)):
                raise BlobError("tensor %r holds NaN or Inf" % name)
        self.z_dim = self.layers[0][0].shape[0]
        self.out_dim = self.layers[-1][0].shape[1]

    def describe(self):
        return " -> ".join(["%d" % self.z_dim] + ["%d %s" % (w.shape[1], ACT_NAMES[a])
                                                  for (w, _), a in zip(self.layers, self.acts)])

    def forward(self, z):
        x = z
        for (w, b), a in zip(self.layers, self.acts):
            x = apply_act(x @ w + b, a, self.slope)
        return x

    def sample(self, n, rng):
        return self.forward(rng.standard_normal((n, self.z_dim)))


# ---------------------------------------------------------------------------------------------
# Layer-list generator (src/core/net.h): "spec.g.net" is a [1 + n_layers, 10] table. Row 0:
# format, input C, H, W, n_layers, leaky_slope, bn_momentum, bn_eps. Row 1 + i: op, out, kernel,
# stride, pad, reshape C, H, W, fused activation, mbstd group. Parameters "g.<i>.w/.b" (dense W
# [in, out]; conv2d W [out_c, in_c, k, k]; convT W [in_c, out_c, k, k], PyTorch's layouts) and
# "g.<i>.gamma/.beta/.rmean/.rvar" (batch norm). Rebuilt here with torch.nn.functional, not with
# any mtgan code. mtgan samples batch-norm generators in training mode (batch statistics, running
# statistics untouched) over groups of 64 z, the way they train, so this does the same; a
# tanh generator's [-1, 1] output is mapped to the data's [0, 1].
# ---------------------------------------------------------------------------------------------
OP_DENSE, OP_CONV, OP_CONVT, OP_BN, OP_ACT, OP_RESHAPE, OP_MBSTD = range(7)
SAMPLE_GROUP = 64


class NetGenerator:
    def __init__(self, tensors, prefix="g"):
        spec = tensors.get("spec.%s.net" % prefix)
        if spec is None:
            raise BlobError("no tensor spec.%s.net: not a layer-list generator" % prefix)
        if spec.ndim != 2 or spec.shape[1] != 10 or spec.shape[0] < 2 or np.any(spec[:, :5] != np.round(spec[:, :5])):
            raise BlobError("spec.%s.net has shape %s, want [1 + n_layers, 10] of integers" % (prefix, spec.shape))
        hdr = spec[0]
        if int(hdr[0]) != 1 or int(hdr[4]) != spec.shape[0] - 1:
            raise BlobError("spec.%s.net: format %d with %d layers in %d rows" % (prefix, hdr[0], hdr[4], spec.shape[0]))
        self.in_shape = tuple(int(v) for v in hdr[1:4])
        self.slope, self.eps = float(hdr[5]), float(hdr[7])
        self.layers, self.mixes = [], False
        shape = self.in_shape
        for i, row in enumerate(spec[1:]):
            op, out, k, st, pad = (int(v) for v in row[:5])
            act, group = int(row[8]), int(row[9])
            p = {n: tensors.get("%s.%d.%s" % (prefix, i, n)) for n in ("w", "b", "gamma", "beta")}
            if op == OP_DENSE:
                fin = int(np.prod(shape))
                if p["w"] is None or p["w"].shape != (fin, out):
                    raise BlobError("layer %d (dense): want w [%d, %d]" % (i, fin, out))
                shape = (out, 1, 1)
            elif op in (OP_CONV, OP_CONVT):
                c, h, w = shape
                want = (out, c, k, k) if op == OP_CONV else (c, out, k, k)
                if p["w"] is None or p["w"].shape != want:
                    raise BlobError("layer %d (conv): want w %s, got %s" % (i, want, None if p["w"] is None else p["w"].shape))
                if st < 1 or pad < 0 or (op == OP_CONV and (h + 2 * pad - k) % st):
                    raise BlobError("layer %d (conv): stride %d, pad %d do not fit %dx%d" % (i, st, pad, h, w))
                if op == OP_CONV:
                    shape = (out, (h + 2 * pad - k) // st + 1, (w + 2 * pad - k) // st + 1)
                else:
                    shape = (out, (h - 1) * st - 2 * pad + k, (w - 1) * st - 2 * pad + k)
            elif op == OP_BN:
                if p["gamma"] is None or p["gamma"].shape != (shape[0],):
                    raise BlobError("layer %d (batchnorm): want gamma [%d]" % (i, shape[0]))
                self.mixes = True
            elif op == OP_RESHAPE:
                new = tuple(int(v) for v in row[5:8])
                if int(np.prod(new)) != int(np.prod(shape)):
                    raise BlobError("layer %d (reshape): %s cannot become %s" % (i, shape, new))
                shape = new
            elif op == OP_MBSTD:
                raise BlobError("layer %d: minibatch stddev belongs in a discriminator" % i)
            elif op != OP_ACT:
                raise BlobError("layer %d: unknown op %d" % (i, op))
            if act not in ACT_NAMES:
                raise BlobError("layer %d: unknown activation %d" % (i, act))
            p["stride"], p["pad"] = st, pad
            self.layers.append((op, act, shape, p))
        for name, a in tensors.items():
            if name.startswith(prefix + ".") and not np.all(np.isfinite(a)):
                raise BlobError("tensor %r holds NaN or Inf" % name)
        self.z_dim = int(np.prod(self.in_shape))
        self.out_dim = int(np.prod(shape))
        self.tanh_out = self.layers[-1][1] == ACT_TANH

    def describe(self):
        names = {OP_DENSE: "dense", OP_CONV: "conv", OP_CONVT: "convT", OP_BN: "bn", OP_ACT: "act",
                 OP_RESHAPE: "reshape"}
        return " -> ".join(["z%d" % self.z_dim] + ["%s%s%s" % (names[op], "x".join(map(str, sh)),
                           "" if a == ACT_NONE else " " + ACT_NAMES[a]) for op, a, sh, _ in self.layers])

    def forward(self, z):
        import torch
        import torch.nn.functional as F
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32))  # noqa: E731
        x = torch.as_tensor(np.asarray(z, np.float32)).reshape((-1,) + self.in_shape)
        with torch.no_grad():
            for op, act, shape, p in self.layers:
                if op == OP_DENSE:
                    x = x.reshape(len(x), -1) @ t(p["w"]) + t(p["b"])
                elif op in (OP_CONV, OP_CONVT):
                    f = F.conv2d if op == OP_CONV else F.conv_transpose2d
                    x = f(x, t(p["w"]), t(p["b"]), stride=p["stride"], padding=p["pad"])
                elif op == OP_BN:
                    x = F.batch_norm(x, None, None, t(p["gamma"]), t(p["beta"]), training=True, eps=self.eps)
                elif op == OP_RESHAPE:
                    x = x.reshape((len(x),) + shape)
                if act == ACT_RELU:
                    x = torch.relu(x)
                elif act == ACT_LEAKY:
                    x = F.leaky_relu(x, self.slope)
                elif act == ACT_SIGMOID:
                    x = torch.sigmoid(x)
                elif act == ACT_TANH:
                    x = torch.tanh(x)
        y = x.reshape(len(x), -1).numpy().astype(np.float64)
        return 0.5 * (y + 1.0) if self.tanh_out else y

    def sample(self, n, rng):
        if not self.mixes:
            return self.forward(rng.standard_normal((n, self.z_dim)))
        out = []
        for r in range(0, n, SAMPLE_GROUP):  # whole groups, surplus rows dropped, as mtgan samples
            out.append(self.forward(rng.standard_normal((SAMPLE_GROUP, self.z_dim)))[: n - r])
        return np.concatenate(out)


# ---------------------------------------------------------------------------------------------
# Metrics: k-NN manifolds (Kynkäänniemi et al. 2019; Naeem et al. 2020) and Fréchet distance.
# ---------------------------------------------------------------------------------------------
def pdist2(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(d, 0.0))


def knn_radii(x, k):
    """Distance of each row of x to its k-th nearest other row."""
    d = pdist2(x, x)
    np.fill_diagonal(d, np.inf)
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def manifold_metrics(real, fake, k=3):
    r_real, r_fake = knn_radii(real, k), knn_radii(fake, k)
    d = pdist2(real, fake)  # [n_real, n_fake]
    inside_real = d <= r_real[:, None]  # fake j inside real i's ball
    return {
        "precision": float(inside_real.any(0).mean()),
        "recall": float((d <= r_fake[None, :]).any(1).mean()),
        "coverage": float(inside_real.any(1).mean()),
        "density": float(inside_real.sum() / (k * fake.shape[0])),
    }


def frechet(a, b):
    from scipy import linalg
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    if not np.all(np.isfinite(covmean)):  # near-singular: regularise like the FID reference code
        eps = 1e-6 * np.eye(s1.shape[0])
        covmean = linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


METRICS = ("fidelity", "precision", "recall", "coverage", "density", "fd")


def score_set(ref_feat, fake_feat, fake_pred, label, k):
    m = manifold_metrics(ref_feat, fake_feat, k)
    m["fidelity"] = float((fake_pred == label).mean())
    m["fd"] = frechet(ref_feat, fake_feat)
    return m


def mean_dicts(ds):
    return {key: float(np.mean([d[key] for d in ds])) for key in ds[0]} if ds else {}


def judge_task(feat_real, feat_fake, pred_fake, label, fid_ceiling, k, splits, rng):
    """feat_real: metric-space features of the class's real images; feat_fake/pred_fake: the
    generator's samples. Returns {"model", "matched", "ceiling"} dicts of METRICS."""
    model = score_set(feat_real, feat_fake, pred_fake, label, k)
    n = feat_real.shape[0]
    matched, ceiling = [], []
    for _ in range(splits):
        perm = rng.permutation(n)
        a, b = perm[: n // 2], perm[n // 2:]
        c = manifold_metrics(feat_real[a], feat_real[b], k)
        c["fd"] = frechet(feat_real[a], feat_real[b])
        ceiling.append(c)
        sel = rng.choice(feat_fake.shape[0], size=min(len(b), feat_fake.shape[0]), replace=False)
        matched.append(score_set(feat_real[a], feat_fake[sel], pred_fake[sel], label, k))
    ceil = mean_dicts(ceiling)
    ceil["fidelity"] = fid_ceiling
    return {"model": model, "matched": mean_dicts(matched), "ceiling": ceil, "n_real": int(n)}


# ---------------------------------------------------------------------------------------------
# Datasets. Interface (duck-typed):
#   name, task_prefix          tasks are "<task_prefix>-<class>"
#   prepare(args)              load real data, train or load the judge's classifier
#   classes()                  class labels present
#   real_features(c)           metric-space features of the real images of class c
#   fidelity_ceiling(c)        classifier accuracy on held-out real images of class c
#   load_generator(path)       object with .sample(n, rng) -> images as the dataset stores them
#   featurize(x)               (features, predicted labels) of images x
# ---------------------------------------------------------------------------------------------
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Digits:
    name, task_prefix = "digits", "digit"

    def prepare(self, args):
        path = args.data or os.path.join(REPO, "data", "digits.csv.gz")
        raw = np.loadtxt(gzip.open(path, "rt"), delimiter=",", dtype=np.int64)
        if raw.ndim != 2 or raw.shape[1] != 65 or raw[:, :64].min() < 0 or raw[:, :64].max() > 16:
            raise SystemExit("%s: want rows of 64 pixels in 0..16 and a label" % path)
        self.x = raw[:, :64].astype(np.float64) / 16.0  # as src/data/digits.c
        self.y = raw[:, 64]
        from sklearn.model_selection import StratifiedKFold, cross_val_predict
        clf = self._classifier(args.classifier, args.seed)
        folds = StratifiedKFold(5, shuffle=True, random_state=args.seed)  # the file is ordered by writer
        cv = cross_val_predict(clf, self.x, self.y, cv=folds)
        self.cv_acc = {int(c): float((cv[self.y == c] == c).mean()) for c in self.classes()}
        self.clf = clf.fit(self.x, self.y)
        self.info = {"data": path, "n": int(len(self.y)), "classifier": args.classifier,
                     "classifier_cv_accuracy": float((cv == self.y).mean()), "space": "pixels (64)"}
        print("digits: %d images from %s; judge classifier %s, 5-fold CV accuracy %.4f"
              % (len(self.y), path, args.classifier, self.info["classifier_cv_accuracy"]))

    @staticmethod
    def _classifier(kind, seed):
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier
        from sklearn.svm import SVC
        if kind == "logreg":
            return LogisticRegression(C=1.0, max_iter=5000)
        if kind == "svc":
            return SVC(C=10.0, gamma="scale")
        return MLPClassifier(hidden_layer_sizes=(128,), alpha=1e-3, max_iter=1000, random_state=seed)

    def classes(self):
        return sorted(int(c) for c in np.unique(self.y))

    def real_features(self, c):
        return self.x[self.y == c]

    def fidelity_ceiling(self, c):
        return self.cv_acc[c]

    def load_generator(self, path):
        g = MLPGenerator(read_blob(path))
        if g.out_dim != 64:
            raise BlobError("generator gives %d values per sample, digits have 64" % g.out_dim)
        return g

    def featurize(self, x):
        return x, self.clf.predict(x)


def read_idx(path):
    """IDX file of unsigned bytes (gzip or plain) -> ndarray; strict like src/data/idx.c."""
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        buf = f.read()
    if len(buf) < 4 or buf[0] or buf[1] or buf[2] != 8 or not 1 <= buf[3] <= 3:
        raise SystemExit("%s: not an unsigned-byte IDX file" % path)
    rank = buf[3]
    dims = struct.unpack_from(">%dI" % rank, buf, 4)
    off = 4 + 4 * rank
    if len(buf) - off != int(np.prod(dims)):
        raise SystemExit("%s: payload has %d bytes, dims %s want %d" % (path, len(buf) - off, dims, np.prod(dims)))
    return np.frombuffer(buf, np.uint8, offset=off).reshape(dims)


CNN_VERSION = 1  # bump when the architecture or the training recipe changes (invalidates the cache)


def build_cnn():
    from torch import nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 32x14x14
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 64x7x7
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),          # penultimate features
        nn.Linear(128, 10))


class FashionMnist:
    name, task_prefix = "fashion-mnist", "fashion"
    DIR = "/usr/share/datasets/fashion-mnist"

    def _load(self, d, split):
        def f(stem):
            for p in (os.path.join(d, stem + ".gz"), os.path.join(d, stem)):
                if os.path.exists(p):
                    return p
            raise SystemExit("fashion-mnist: no %s(.gz) in %s (apt-get install dataset-fashion-mnist)" % (stem, d))
        pre = "train" if split == "train" else "t10k"
        x = read_idx(f(pre + "-images-idx3-ubyte"))
        y = read_idx(f(pre + "-labels-idx1-ubyte"))
        if x.shape[1:] != (28, 28) or len(x) != len(y) or y.max() > 9:
            raise SystemExit("fashion-mnist %s: unexpected shapes %s %s" % (split, x.shape, y.shape))
        return x.astype(np.float32) / 255.0, y.astype(np.int64)  # [0, 1] as src/data/fashion.c

    def prepare(self, args):
        import torch
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        d = args.data or self.DIR
        xtr, ytr = self._load(d, "train")
        self.x, self.y = self._load(d, "test")  # the judge's real reference: the test split
        cache_dir = os.path.expanduser("~/.cache/mtgan-judge")
        cache = os.path.join(cache_dir, "fashion-cnn-v%d-seed%d-e%d.pt" % (CNN_VERSION, args.seed, args.cnn_epochs))
        self.net = build_cnn()
        if os.path.exists(cache):
            state = torch.load(cache)
            self.net.load_state_dict(state["model"])
            print("fashion-mnist: judge CNN from cache %s" % cache)
        else:
            print("fashion-mnist: training the judge CNN on %d images (cached in %s) ..." % (len(ytr), cache))
            self._train(xtr, ytr, args.seed, args.cnn_epochs)
            os.makedirs(cache_dir, exist_ok=True)
            torch.save({"model": self.net.state_dict(), "version": CNN_VERSION, "epochs": args.cnn_epochs},
                       cache + ".tmp")
            os.replace(cache + ".tmp", cache)
        self.net.eval()
        self.feat, pred = self.featurize(self.x)
        acc = float((pred == self.y).mean())
        self.acc = {int(c): float((pred[self.y == c] == c).mean()) for c in self.classes()}
        self.info = {"data": d, "n": int(len(self.y)), "classifier": "cnn-v%d" % CNN_VERSION,
                     "classifier_test_accuracy": acc, "space": "CNN penultimate features (128)"}
        print("fashion-mnist: judge CNN test accuracy %.4f on %d test images" % (acc, len(self.y)))

    def _train(self, x, y, seed, epochs):
        import torch
        from torch import nn
        torch.manual_seed(seed)
        xt, yt = torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)
        opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        lossf = nn.CrossEntropyLoss()
        self.net.train()
        for ep in range(epochs):
            perm = torch.randperm(len(yt))
            tot = 0.0
            for i in range(0, len(yt), 128):
                idx = perm[i:i + 128]
                opt.zero_grad()
                loss = lossf(self.net(xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                tot += float(loss) * len(idx)
            print("  epoch %d: train loss %.4f" % (ep + 1, tot / len(yt)))

    def classes(self):
        return list(range(10))

    def real_features(self, c):
        return self.feat[self.y == c]

    def fidelity_ceiling(self, c):
        return self.acc[c]

    def featurize(self, x):
        """x: [n, 784] or [n, 28, 28] images in [0, 1] -> (128-d features, predicted labels)."""
        import torch
        x = torch.as_tensor(np.asarray(x, np.float32)).reshape(-1, 1, 28, 28)
        feats, preds = [], []
        with torch.no_grad():
            for i in range(0, len(x), 1000):
                h = self.net[:-1](x[i:i + 1000])
                feats.append(h.numpy().astype(np.float64))
                preds.append(self.net[-1](h).argmax(1).numpy())
        return np.concatenate(feats), np.concatenate(preds)

    def load_generator(self, path):
        g = NetGenerator(read_blob(path))
        if g.out_dim != 784:
            raise BlobError("generator gives %d values per sample, fashion-mnist has 784" % g.out_dim)
        return g


DATASETS = {"digits": Digits, "fashion-mnist": FashionMnist}


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------
def find_generators(model_dir, prefix):
    """task id -> blob path for <model_dir>/<prefix>-<k>.generator.blob (sorted by k)."""
    out = {}
    for p in glob.glob(os.path.join(model_dir, "*.generator.blob")):
        task = os.path.basename(p)[: -len(".generator.blob")]
        m = re.fullmatch(re.escape(prefix) + r"-(\d+)", task)
        if m:
            out[task] = (int(m.group(1)), p)
        else:
            print("skipping %s: task %r is not %s-<class>" % (p, task, prefix), file=sys.stderr)
    return dict(sorted(out.items(), key=lambda kv: kv[1][0]))


COLS = ("fidelity", "precision", "recall", "coverage", "fd")


def fmt_row(task, n, r, sections):
    cells = []
    for key in COLS:
        vals = [r[s].get(key) for s in sections]
        fmt = "%6.2f" if key == "fd" else "%5.3f"
        cells.append("/".join(fmt % v if v is not None else "  -  " for v in vals))
    return "%-11s %4s  %s" % (task, n, "  ".join(cells))


def print_table(results, sections):
    widths = [(7 if k == "fd" else 6) * len(sections) - 1 for k in COLS]
    print("\n%-11s %4s  %s" % ("task", "real", "  ".join("%-*s" % (w, k) for w, k in zip(widths, COLS))))
    print("%-11s %4s  (each cell: %s)" % ("", "", " / ".join(sections)))
    for task, r in results.items():
        if "error" in r:
            print("%-11s       %s" % (task, r["error"]))
        else:
            print(fmt_row(task, r["n_real"], r, sections))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Independent judge of exported mtgan generators "
                                 "(DESIGN §11): fidelity, precision/recall, coverage vs the real-vs-real ceiling.")
    ap.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    ap.add_argument("--model-dir", help="directory of <task>.generator.blob files; without it only "
                    "the classifier and the real-vs-real ceilings are reported")
    ap.add_argument("--data", help="dataset file (digits) or directory (fashion-mnist); default: the bundled one")
    ap.add_argument("--samples", type=int, default=1000, help="samples drawn per generator (default 1000)")
    ap.add_argument("--k", type=int, default=3, help="k of the k-NN manifolds (default 3)")
    ap.add_argument("--splits", type=int, default=10, help="random halvings averaged for matched/ceiling (default 10)")
    ap.add_argument("--seed", type=int, default=2024, help="seed of the judge's own RNG (z, splits, classifier)")
    ap.add_argument("--classifier", choices=["svc", "mlp", "logreg"], default="svc",
                    help="digits: sklearn classifier for fidelity (default svc: RBF SVM, ~0.99 CV accuracy; "
                    "mlp ~0.98, logreg ~0.97)")
    ap.add_argument("--cnn-epochs", type=int, default=3, help="fashion-mnist: epochs of the judge CNN")
    ap.add_argument("--json", metavar="FILE", help="write every number as JSON")
    ap.add_argument("--self-test", action="store_true", help="check the blob parser and metrics, then exit")
    a = ap.parse_args(argv)
    if a.self_test:
        return self_test()

    ds = DATASETS[a.dataset]()
    ds.prepare(a)
    rng = np.random.default_rng(a.seed)
    results, gens = {}, {}
    if a.model_dir:
        gens = find_generators(a.model_dir, ds.task_prefix)
        if not gens:
            raise SystemExit("no %s-<k>.generator.blob files in %s" % (ds.task_prefix, a.model_dir))
        for task, (c, path) in gens.items():
            if c not in ds.classes():
                results[task] = {"error": "class %d not in %s" % (c, ds.name)}
                continue
            try:
                g = ds.load_generator(path)
            except (BlobError, NotImplementedError, OSError) as e:
                results[task] = {"error": str(e)}
                continue
            x = g.sample(a.samples, rng)
            if not np.all(np.isfinite(x)):
                results[task] = {"error": "generator output holds NaN or Inf"}
                continue
            feat, pred = ds.featurize(x)
            r = judge_task(ds.real_features(c), feat, pred, c, ds.fidelity_ceiling(c), a.k, a.splits, rng)
            r["generator"] = g.describe() if hasattr(g, "describe") else ""
            results[task] = r
        sections = ("model", "matched", "ceiling")
    else:
        for c in ds.classes():
            f = ds.real_features(c)
            n = f.shape[0]
            ceil = []
            for _ in range(a.splits):
                perm = rng.permutation(n)
                h1, h2 = perm[: n // 2], perm[n // 2:]
                m = manifold_metrics(f[h1], f[h2], a.k)
                m["fd"] = frechet(f[h1], f[h2])
                ceil.append(m)
            cm = mean_dicts(ceil)
            cm["fidelity"] = ds.fidelity_ceiling(c)
            results["%s-%d" % (ds.task_prefix, c)] = {"ceiling": cm, "n_real": int(n)}
        sections = ("ceiling",)

    print_table(results, sections)
    ok = [r for r in results.values() if "error" not in r]
    means = {s: mean_dicts([r[s] for r in ok]) for s in sections} if ok else {}
    if ok:
        print(fmt_row("mean", "", means, sections))
        if "matched" in means:
            rc = means["matched"]["recall"] / max(means["ceiling"]["recall"], 1e-12)
            cc = means["matched"]["coverage"] / max(means["ceiling"]["coverage"], 1e-12)
            print("\nmatched/ceiling: recall %.2f, coverage %.2f (DESIGN §11 target >= 0.6); "
                  "mean fidelity %.3f (target >= 0.9); %d of %d tasks scored"
                  % (rc, cc, means["model"]["fidelity"], len(ok), len(results)))
            means["ratios"] = {"recall_matched_over_ceiling": rc, "coverage_matched_over_ceiling": cc}
    if a.json:
        out = {"dataset": ds.name, "model_dir": a.model_dir, "samples": a.samples, "k": a.k,
               "splits": a.splits, "seed": a.seed, "judge": ds.info, "tasks": results, "mean": means}
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
    bad = len(results) - len(ok)
    return 1 if a.model_dir and bad else 0


def self_test():
    rng = np.random.default_rng(0)
    t = {"g.0.w": rng.standard_normal((32, 128)), "g.0.b": rng.standard_normal(128),
         "g.1.w": rng.standard_normal((128, 64)), "g.1.b": rng.standard_normal(64),
         "spec.g.act": np.array([ACT_LEAKY, ACT_TANH], np.float32), "spec.g.leaky_slope": np.array([0.1])}
    for compress in (False, True):
        for f16 in ((), ("g.0.w",)):
            buf = encode_blob(t, compress, f16)
            got = parse_blob(buf)
            assert list(got) == list(t), (list(got), list(t))
            for k in t:
                tol = 2e-3 * np.abs(t[k]).max() if k in f16 else 0
                assert np.allclose(got[k], np.asarray(t[k], np.float32), atol=tol, rtol=0), k
            bad = bytearray(buf)
            bad[20] ^= 1
            try:
                parse_blob(bytes(bad))
                raise AssertionError("corrupt blob accepted")
            except BlobError:
                pass
    g = MLPGenerator(parse_blob(encode_blob(t)))
    assert g.acts == [ACT_LEAKY, ACT_TANH] and abs(g.slope - 0.1) < 1e-7
    z = rng.standard_normal((5, 32))
    h = z @ t["g.0.w"].astype(np.float32) + t["g.0.b"].astype(np.float32)
    ref = np.tanh(np.dot(np.where(h > 0, h, 0.1 * h), t["g.1.w"].astype(np.float32)) + t["g.1.b"].astype(np.float32))
    assert np.allclose(g.forward(z), ref, atol=1e-4)
    t2 = {k: v for k, v in t.items() if not k.startswith("spec.")}
    assert MLPGenerator(parse_blob(encode_blob(t2))).acts == [ACT_RELU, ACT_SIGMOID]
    # the same two dense layers as a layer list (spec.g.net) give the same images
    spec = np.zeros((3, 10), np.float32)
    spec[0, :8] = [1, 32, 1, 1, 2, 0.1, 0.1, 1e-5]
    spec[1, [0, 1, 8]] = [OP_DENSE, 128, ACT_LEAKY]
    spec[2, [0, 1, 8]] = [OP_DENSE, 64, ACT_TANH]
    t3 = dict(t2, **{"spec.g.net": spec})
    assert np.allclose(NetGenerator(parse_blob(encode_blob(t3))).forward(z), 0.5 * (ref + 1.0), atol=1e-4)
    # identical sets: every metric at its maximum; disjoint far-apart sets: zero
    x = rng.random((200, 8))
    m = manifold_metrics(x, x.copy(), 3)
    assert m["precision"] == m["recall"] == m["coverage"] == 1.0, m
    m = manifold_metrics(x, x + 10.0, 3)
    assert m["precision"] == m["recall"] == m["coverage"] == 0.0, m
    assert abs(frechet(x, x)) < 1e-6
    print("self-test ok: blob parser (f32/f16, plain/zlib, CRC), MLP and layer-list rebuild, metrics")
    return 0


if __name__ == "__main__":
    sys.exit(main())
