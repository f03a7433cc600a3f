#!/usr/bin/env python3
"""Side-by-side peer for `npm run bench -- forward --model swin`: timm's SwinTransformer written as a plain
PyTorch module (eager, fp32), following timm's module structure and state-dict names (timm >= 0.9: NHWC stages,
`layers.{i}.downsample` opening stage i >= 1, `head.fc`), so it loads the bench's weights strictly. No timm import.

It reads the weights and the input the bench wrote (safetensors), loads the weights with strict=True, times the
eval forward, and compares its logits with the ones the bench computed natively. Prints one JSON line.

  python3 swin_peer.py --weights w.safetensors --io io.safetensors [--warmup 2] [--steps 5] [--threads N]

Needs Debian's python3-torch (scripts/setup.sh --peer).
"""
import argparse, json, struct, time
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = memoryview(data)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if entry["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {entry['dtype']}, this peer reads F32 only")
        start, end = entry["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(body[start:end]), dtype=torch.float32).reshape(entry["shape"])
    return tensors, meta


def window_partition(x, w):
    B, H, W, C = x.shape
    x = x.view(B, H // w, w, W // w, w, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, w, w, C)


def window_reverse(windows, w, H, W):
    C = windows.shape[-1]
    x = windows.view(-1, H // w, W // w, w, w, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)


def relative_position_index(w):
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += w - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1
    return rel.sum(-1)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, window, qkv_bias=True):
        super().__init__()
        self.heads, self.window, self.scale = heads, window, (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_position_index(window), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B_, N, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(-1, nw, self.heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, N, N)
        x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(B_, N, -1)
        return self.proj(x)


class SwinTransformerBlock(nn.Module):
    def __init__(self, dim, grid, heads, window, shift, mlp_ratio, qkv_bias):
        super().__init__()
        if grid <= window:  # timm: one window over the whole grid, unshifted
            window, shift = grid, 0
        self.grid, self.window, self.shift = grid, window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window, qkv_bias)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        mask = None
        if shift > 0:
            img = torch.zeros(1, grid, grid, 1)
            cnt = 0
            for h in ((0, -window), (-window, -shift), (-shift, None)):
                for w in ((0, -window), (-window, -shift), (-shift, None)):
                    img[:, h[0]:h[1], w[0]:w[1], :] = cnt
                    cnt += 1
            mw = window_partition(img, window).view(-1, window * window)
            mask = mw.unsqueeze(1) - mw.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        self.register_buffer("attn_mask", mask, persistent=False)

    def _attn(self, x):
        B, H, W, C = x.shape
        if self.shift:
            x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = window_partition(x, self.window).view(-1, self.window * self.window, C)
        windows = self.attn(windows, mask=self.attn_mask).view(-1, self.window, self.window, C)
        x = window_reverse(windows, self.window, H, W)
        if self.shift:
            x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2))
        return x

    def forward(self, x):
        B, H, W, C = x.shape
        x = x + self._attn(self.norm1(x))
        x = x.reshape(B, -1, C)
        x = x + self.mlp(self.norm2(x))
        return x.reshape(B, H, W, C)


class PatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        B, H, W, C = x.shape
        x = x.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)
        return self.reduction(self.norm(x))


class SwinTransformerStage(nn.Module):
    def __init__(self, dim, grid, depth, heads, window, mlp_ratio, qkv_bias, downsample):
        super().__init__()
        self.downsample = PatchMerging(dim // 2) if downsample else nn.Identity()
        self.blocks = nn.Sequential(*[
            SwinTransformerBlock(dim, grid, heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio, qkv_bias)
            for i in range(depth)])

    def forward(self, x):
        return self.blocks(self.downsample(x))


class PatchEmbed(nn.Module):
    def __init__(self, in_chans, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).permute(0, 2, 3, 1))  # NHWC


class ClassifierHead(nn.Module):
    def __init__(self, dim, classes):
        super().__init__()
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        return self.fc(x.mean((1, 2)))


class SwinTransformer(nn.Module):
    def __init__(self, img_size=224, patch_size=4, in_chans=3, num_classes=1000, embed_dim=96, depths=(2, 2, 6, 2),
                 num_heads=(3, 6, 12, 24), window_size=7, mlp_ratio=4.0, qkv_bias=True):
        super().__init__()
        self.patch_embed = PatchEmbed(in_chans, embed_dim, patch_size)
        grid = img_size // patch_size
        stages = []
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            stages.append(SwinTransformerStage(embed_dim * 2 ** i, grid >> i, depth, heads, window_size, mlp_ratio, qkv_bias, i > 0))
        self.layers = nn.Sequential(*stages)
        self.norm = nn.LayerNorm(embed_dim * 2 ** (len(depths) - 1))
        self.head = ClassifierHead(embed_dim * 2 ** (len(depths) - 1), num_classes)

    def forward(self, x):
        return self.head(self.norm(self.layers(self.patch_embed(x))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True, help="state dict with timm's names; metadata kwargs = the constructor's")
    ap.add_argument("--io", required=True, help="'input' [B, C, H, W] and the bench's native 'logits'")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    state, meta = read_safetensors(a.weights)
    model = SwinTransformer(**json.loads(meta["kwargs"])).eval()
    model.load_state_dict(state, strict=True)
    io, _ = read_safetensors(a.io)
    x = io["input"]
    times = []
    with torch.no_grad():
        for _ in range(a.warmup + a.steps):
            t0 = time.perf_counter()
            logits = model(x)
            times.append(time.perf_counter() - t0)
    timed = sorted(times[a.warmup:])
    med = timed[len(timed) // 2]
    diff = (logits - io["logits"]).abs().max().item()
    print(json.dumps({"peer": "pytorch-eager", "model": "SwinTransformer (plain PyTorch, timm's structure)", "mode": "forward",
                      "batch": x.shape[0], "threads": torch.get_num_threads(), "forward_s_median": round(med, 4),
                      "img_per_s": round(x.shape[0] / med, 2), "strict_load": True, "max_abs_diff_vs_ours": diff,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
