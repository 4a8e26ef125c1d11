"""The gallery as a user opens it: one page per activation, an index, every link and image
there, the numbers on the page, and (where chromium is installed) a real browser's rendering."""

import html.parser
import json
import re
import shutil
import subprocess
import urllib.parse

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from tf_activations import plotting, properties  # noqa: E402

NAMES = ["sigmoid", "relu", "hard_sigmoid", "softmax", "mish"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="module")
def gallery(tmp_path_factory):
    out = tmp_path_factory.mktemp("gallery")
    # a cache from an earlier `gallery --cost`: shown, never re-measured
    (out / properties.COST_FILE).write_text(json.dumps(
        {"ratios": {"relu": 1.0, "sigmoid": 1.4}, "machine": "test", "tensorflow": "x", "measured": "then"}))
    plotting.render_gallery(str(out), names=NAMES)
    return out


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("href", "src"):
                self.links.append((tag, value))


def _links(page):
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.links


def test_one_page_and_picture_per_activation_and_an_index(gallery):
    for name in NAMES:
        assert (gallery / f"{name}.html").is_file() and (gallery / f"{name}.png").is_file()
    assert (gallery / "index.html").is_file()


def test_every_link_and_image_resolves_offline(gallery):
    pages = sorted(gallery.glob("*.html"))
    assert len(pages) == len(NAMES) + 1
    for page in pages:
        links = _links(page)
        assert links, page.name
        for tag, target in links:
            parsed = urllib.parse.urlparse(target)
            assert not parsed.scheme and not parsed.netloc, f"{page.name}: {target} needs a network"
            path = urllib.parse.unquote(parsed.path)
            assert (gallery / path).is_file(), f"{page.name}: <{tag}> {target} does not exist"
    index_targets = {t for _, t in _links(gallery / "index.html")}
    assert {f"{n}.html" for n in NAMES} <= index_targets and {f"{n}.png" for n in NAMES} <= index_targets


def test_page_shows_the_declaration_and_the_numbers(gallery):
    page = (gallery / "sigmoid.html").read_text(encoding="utf-8")
    for text in ("sigmoid(x) = 1 / (1 + exp(-x))", "sigmoid(x) * (1 - sigmoid(x))", "Rumelhart",
                 "When to use", "Advantages", "Disadvantages", "mean output 0.5 for N(0, 1) input",
                 "x &lt; -6.91 and x &gt; 6.91", "ulp (default mode)", "1.4x relu&#x27;s", "Measured"):
        assert text in page, text
    relu = (gallery / "relu.html").read_text(encoding="utf-8")
    assert "50% of N(0, 1) inputs" in relu and "negative_slope" in relu
    mish = (gallery / "mish.html").read_text(encoding="utf-8")
    assert "not measured (gallery --cost)" in mish  # no number invented for what the cache lacks
    assert "softmax([x, 0])[0]" in (gallery / "softmax.html").read_text(encoding="utf-8")


def test_index_is_a_sortable_table(gallery):
    page = (gallery / "index.html").read_text(encoding="utf-8")
    assert page.count("<tr>") == len(NAMES) + 1
    assert 'class="sort"' in page and "<script>" in page and "http" not in page
    sorts = [float(v) for v in re.findall(r'data-sort="([^"]+)"', page)]
    assert sorts and all(np.isfinite(v) or v == float("inf") for v in sorts)


def test_saturated_and_dead_regions_are_shaded(monkeypatch, tmp_path):
    spans = []
    from matplotlib.axes import Axes

    original = Axes.axvspan
    monkeypatch.setattr(Axes, "axvspan", lambda self, lo, hi, **kw: spans.append((lo, hi)) or original(self, lo, hi, **kw))
    plotting.render_gallery(str(tmp_path), names=["hard_sigmoid"])
    # saturated and dead: x < -3 and x > 3, clipped to the view
    assert sorted(spans) == [(-6.0, -3.0), (-6.0, -3.0), (3.0, 6.0), (3.0, 6.0)]


def test_cost_flag_measures_and_caches(monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr(properties, "measure_cost", lambda names: asked.append(list(names)) or {n: 2.0 for n in names})
    plotting.render_gallery(str(tmp_path), names=["relu"], cost=True)
    assert asked == [["relu"]]
    cached = json.loads((tmp_path / properties.COST_FILE).read_text())
    assert cached["ratios"] == {"relu": 2.0}
    plotting.render_gallery(str(tmp_path), names=["relu"])  # read back, not measured again
    assert asked == [["relu"]] and "2x relu&#x27;s" in (tmp_path / "relu.html").read_text(encoding="utf-8")


def _browser():
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


@pytest.mark.skipif(_browser() is None, reason="no chromium: apt-get install -y chromium (see README)")
@pytest.mark.parametrize("page", ["index.html", "sigmoid.html"])
def test_a_headless_browser_renders_the_page(gallery, page, tmp_path):
    shot = tmp_path / "shot.png"
    cmd = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1400",
           f"--screenshot={shot}", (gallery / page).resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))[..., :3]
    ink = np.mean(np.any(pixels < 0.9, axis=-1))
    assert ink > 0.02, f"{page}: the screenshot is blank ({ink:.1%} non-white)"
    assert pixels.std() > 0.05
