#!/usr/bin/python3
"""PyTorch 1.13 peer of benchmarks/bench_lenet.cpp: the same LeNet-5 on Fashion-MNIST.

Times one training epoch (60 000 samples, batch 64, SGD lr 0.01 momentum 0.9, shuffled, no evaluation) on
one and two threads (torch.set_num_threads; median over --epochs epochs), and batch-1 inference latency
of the TorchScript-traced network (median of 7 rounds). With --bench PATH it also runs our bench_lenet
binary with the same options and prints ours/PyTorch speed ratios (> 1: ours is faster).

    /usr/bin/python3 scripts/bench_pytorch_lenet.py [--epochs N] [--samples N] [--data DIR] [--bench PATH]

Run it with Debian's /usr/bin/python3 (python3-torch). Times are wall clock and CPU time of the process.
"""
import argparse
import gzip
import os
import re
import statistics
import subprocess
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_train(directory, samples):
    def find(stem):
        for name in (stem, stem + ".gz"):
            if os.path.exists(os.path.join(directory, name)):
                return os.path.join(directory, name)
        return None

    images, labels = find("train-images-idx3-ubyte"), find("train-labels-idx1-ubyte")
    if images and labels:
        x = torch.from_numpy(read_idx(images).astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
        y = torch.from_numpy(read_idx(labels).astype(np.int64))
        real = True
    else:
        print(f"note: no Fashion-MNIST in {directory}; timing on random images instead")
        g = torch.Generator().manual_seed(1)
        x, y = torch.rand(60000, 1, 28, 28, generator=g), torch.arange(60000) % 10
        real = False
    return x[:samples].contiguous(), y[:samples].contiguous(), real


class LeNet5(nn.Module):  # archetype: conv2d<6,5> relu max_pool<2> conv2d<16,5> relu max_pool<2> flatten dense...
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(256, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def time_epochs(x, y, threads, epochs):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    net = LeNet5()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    wall, cpu, loss = [], [], 0.0
    for e in range(epochs):
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(e + 1))
        w0, c0 = time.perf_counter(), time.process_time()
        total = 0.0
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            out = F.cross_entropy(net(x[idx]), y[idx])
            out.backward()
            opt.step()
            total += float(out) * len(idx)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        loss = total / len(x)
    return statistics.median(wall), statistics.median(cpu), loss


def latency(x, calls):
    torch.set_num_threads(1)
    net = LeNet5().eval()
    with torch.no_grad():
        traced = torch.jit.trace(net, x[:1])
        for i in range(200):  # warm-up (TorchScript profiles the first calls)
            traced(x[i % 100:i % 100 + 1])
        rounds = []
        for _ in range(7):
            w0 = time.perf_counter()
            for i in range(calls):
                traced(x[i % 100:i % 100 + 1])
            rounds.append((time.perf_counter() - w0) / calls)
    return statistics.median(rounds)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--latency-calls", type=int, default=5000)
    ap.add_argument("--data", default=os.environ.get("ARCHETYPE_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--bench", help="path of our bench_lenet binary: run it too and print the ratios")
    a = ap.parse_args()

    x, y, real = load_train(a.data, a.samples)
    print(f"PyTorch {torch.__version__}, LeNet-5 on {'Fashion-MNIST' if real else 'random images'}: "
          f"{len(x)} samples, batch 64, SGD")
    one = time_epochs(x, y, 1, a.epochs)
    print(f"epoch, 1 thread : {one[0]:.3f} s wall ({one[1]:.3f} s CPU), last train loss {one[2]:.4f}")
    two = time_epochs(x, y, 2, a.epochs)
    print(f"epoch, 2 threads: {two[0]:.3f} s wall ({two[1]:.3f} s CPU), last train loss {two[2]:.4f}")
    print(f"speed-up 2 threads / 1 thread: {one[0] / two[0]:.2f}x")
    lat = latency(x, a.latency_calls)
    print(f"batch-1 inference latency (TorchScript): {lat * 1e6:.2f} us")

    if a.bench:
        out = subprocess.run([a.bench, "--epochs", str(a.epochs), "--samples", str(a.samples)],
                             capture_output=True, text=True, check=True).stdout
        print("--- ours (" + a.bench + ")\n" + out.rstrip())
        m1 = re.search(r"1 thread : ([\d.]+) s wall \(([\d.]+) s CPU", out)
        ours1, ours1_cpu = float(m1.group(1)), float(m1.group(2))
        ours2 = float(re.search(r"2 threads: ([\d.]+) s wall", out).group(1))
        ours_lat = float(re.search(r"latency: ([\d.]+) us wall", out).group(1))
        print("--- ratios (PyTorch time / our time; > 1 means ours is faster)")
        print(f"epoch 1 thread : {one[0] / ours1:.2f}x wall, {one[1] / ours1_cpu:.2f}x CPU time")
        print(f"epoch 2 threads: {two[0] / ours2:.2f}x")
        print(f"batch-1 latency: {lat * 1e6 / ours_lat:.2f}x")


if __name__ == "__main__":
    main()
