#!/bin/sh
# tests/tool/html_page.sh GRADFLOW WORKDIR: the HTML pages of a run and of a comparison
# (index.html), opened in headless chromium: each page loads, every image resolves
# (complete, naturalWidth > 0), every SVG figure of the directory is on the page (its
# data: URI decodes to the file's bytes), the verdict is summary.json's, and nothing is
# logged to the console. Skipped (exit 77) when chromium is not installed; CI installs
# it (.ci/run).
set -eu
bin=$1
work=$2

browser=
for b in chromium chromium-browser google-chrome; do
    if command -v "$b" >/dev/null 2>&1; then
        browser=$b
        break
    fi
done
if [ -z "$browser" ]; then
    echo "SKIP: chromium is not installed (Debian: apt-get install chromium), so the HTML"
    echo "pages are not checked in a browser"
    exit 77
fi

rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$bin" run --depth 4 --width 16 --steps 30 --clip global_norm:1 --out run --quiet
"$bin" compare --act relu,tanh --depth 4 --width 16 --steps 30 --out cmp --quiet

fail=0
# open PAGE: load it in an iframe of a wrapper page (same directory tree, file access
# allowed), which writes what it finds into its own DOM for --dump-dom to print.
check() {
    page=$1
    dir=$(dirname "$page")
    cat > wrap.html <<EOF
<!DOCTYPE html><html><body><pre id="out">NOT LOADED</pre>
<iframe id="f" src="$page" width="1200" height="900"></iframe>
<script>
document.getElementById('f').addEventListener('load', function () {
  var d = this.contentDocument, out = [], bad = 0;
  if (!d) { document.getElementById('out').textContent = 'NO ACCESS'; return; }
  for (var i = 0; i < d.images.length; i++)
    if (!(d.images[i].complete && d.images[i].naturalWidth > 0)) {
      bad++;
      out.push('BROKEN ' + d.images[i].alt);
    }
  var v = d.querySelector('.verdict');
  out.push('IMAGES ' + d.images.length + ' BROKEN ' + bad);
  out.push('VERDICT ' + (v ? v.textContent : '(none)'));
  document.getElementById('out').textContent = out.join('\n');
});
</script></body></html>
EOF
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --allow-file-access-from-files --user-data-dir="$work/profile" \
        --enable-logging=stderr --v=0 --virtual-time-budget=10000 \
        --dump-dom "file://$work/wrap.html" > dom.txt 2> browser.txt || true
    svgs=$(ls "$dir"/*.svg 2>/dev/null | wc -l)
    if command -v gnuplot >/dev/null 2>&1 && [ "$svgs" -eq 0 ]; then
        echo "FAIL: $page: gnuplot is installed but $dir holds no SVG figure"
        fail=1
    fi
    if ! grep -q "IMAGES $svgs BROKEN 0" dom.txt; then
        echo "FAIL: $page: expected $svgs images, all resolved; the page says:"
        sed -n '/id="out"/,/<\/pre>/p' dom.txt
        fail=1
    fi
    # Each figure inlined byte for byte: the page's data: URIs, decoded, are the
    # directory's SVG files (compared by checksum, as sorted lists).
    on_page=$(grep -o 'base64,[A-Za-z0-9+/=]*' "$page" | cut -c8- |
              while read -r b; do printf '%s' "$b" | base64 -d | cksum; done | sort)
    in_dir=$(for svg in "$dir"/*.svg; do [ -f "$svg" ] && cksum < "$svg"; done | sort)
    if [ "$on_page" != "$in_dir" ]; then
        echo "FAIL: $page: its inlined figures, decoded, are not the SVG files of $dir"
        fail=1
    fi
    if grep -q ':CONSOLE' browser.txt; then
        echo "FAIL: $page: messages on the console:"
        grep ':CONSOLE' browser.txt
        fail=1
    fi
    if [ -f "$dir/summary.json" ]; then
        want=$(sed -n 's/^  "verdict_text": "\(.*\)",$/\1/p' "$dir/summary.json" | sed "s/\\\\//g")
        if [ -z "$want" ] || ! grep -qF "VERDICT $want" dom.txt; then
            echo "FAIL: $page: the verdict is not summary.json's ($want)"
            fail=1
        fi
    fi
    echo "$page: $(grep -o 'IMAGES [0-9]* BROKEN [0-9]*' dom.txt || echo 'not loaded')"
}

check run/index.html
check cmp/index.html
check cmp/relu/index.html
# The comparison's page names each run's verdict and links to its page.
grep -q 'href="relu/index.html"' cmp/index.html || { echo "FAIL: no link to relu's page"; fail=1; }
grep -q '<li><b>tanh</b>: ' cmp/index.html || { echo "FAIL: no verdict for tanh"; fail=1; }
exit $fail
