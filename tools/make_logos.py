"""Draw the kernel's logos: a circular "reload" arrow on a Python-blue rounded square.

Run from the repository root: ``python tools/make_logos.py``. Writes the PNGs and the SVG into
``reload_kernel/resources/`` and ``kernelspec/autoreload/``. Pure standard library.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

BLUE = (55, 118, 171)
YELLOW = (255, 212, 59)
TARGETS = (Path("reload_kernel/resources"), Path("kernelspec/autoreload"))


def _inside_rounded_square(x: float, y: float, radius: float) -> bool:
    cx, cy = min(max(x, radius), 1 - radius), min(max(y, radius), 1 - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _on_arrow(x: float, y: float) -> bool:
    dx, dy = x - 0.5, y - 0.5
    distance = math.hypot(dx, dy)
    angle = math.degrees(math.atan2(-dy, dx)) % 360
    if 0.22 <= distance <= 0.33 and not 20 <= angle <= 75:
        return True
    # Arrowhead at the end of the arc (angle 75°), pointing clockwise along the ring.
    tip_angle = math.radians(75)
    base = (0.5 + 0.275 * math.cos(tip_angle), 0.5 - 0.275 * math.sin(tip_angle))
    direction = (math.sin(tip_angle), math.cos(tip_angle))
    normal = (math.cos(tip_angle), -math.sin(tip_angle))
    rx, ry = x - base[0], y - base[1]
    along = rx * direction[0] + ry * direction[1]
    across = rx * normal[0] + ry * normal[1]
    return 0 <= along <= 0.16 and abs(across) <= 0.12 * (1 - along / 0.16)


def _pixel(x: float, y: float) -> tuple[int, int, int, int]:
    if not _inside_rounded_square(x, y, 0.18):
        return (0, 0, 0, 0)
    return (*YELLOW, 255) if _on_arrow(x, y) else (*BLUE, 255)


def render_png(size: int, samples: int = 4) -> bytes:
    rows = []
    for row in range(size):
        line = bytearray([0])  # PNG filter type 0 for each scanline
        for column in range(size):
            total = [0, 0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    x = (column + (sx + 0.5) / samples) / size
                    y = (row + (sy + 0.5) / samples) / size
                    for i, value in enumerate(_pixel(x, y)):
                        total[i] += value
            line.extend(round(value / samples**2) for value in total)
        rows.append(bytes(line))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <rect width="64" height="64" rx="11.5" fill="#3776ab"/>
  <path d="M 50.1 25.8 A 19.2 19.2 0 1 1 36.6 13.4" fill="none" stroke="#ffd43b"
        stroke-width="7"/>
  <path d="M 36.0 6.0 L 46.2 16.6 L 33.0 20.4 Z" fill="#ffd43b"/>
</svg>
"""


def main() -> None:
    for target in TARGETS:
        target.mkdir(parents=True, exist_ok=True)
        for size in (32, 64):
            (target / f"logo-{size}x{size}.png").write_bytes(render_png(size))
        (target / "logo-svg.svg").write_text(SVG, encoding="utf-8")


if __name__ == "__main__":
    main()
