"""Draw the app icons (舟 on the brand green) once; the PNGs are committed.

Run again only to change the icon: python scripts/make_icons.py (needs fonts-noto-cjk).
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
OUT = Path(__file__).resolve().parents[1] / "src/tongzhou/static/tongzhou/icons"
GREEN, WHITE = (11, 94, 85), (255, 255, 255)


def draw(size: int, *, maskable: bool) -> Image.Image:
    img = Image.new("RGB", (size, size), GREEN)
    d = ImageDraw.Draw(img)
    if not maskable:  # a plain icon gets rounded corners; a maskable one is cut by the phone
        img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
        d = ImageDraw.Draw(img)
        d.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=GREEN)
    # A maskable icon keeps its mark inside the middle 80 % (the safe zone).
    font = ImageFont.truetype(FONT, int(size * (0.5 if maskable else 0.62)), index=2)  # SC
    d.text((size / 2, size / 2), "舟", font=font, fill=WHITE, anchor="mm")
    return img


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, size, maskable in (
        ("icon-192.png", 192, False),
        ("icon-512.png", 512, False),
        ("maskable-512.png", 512, True),
        ("apple-touch-icon.png", 180, True),  # iOS rounds it itself and dislikes transparency
    ):
        draw(size, maskable=maskable).save(OUT / name, optimize=True)
        print(OUT / name)
