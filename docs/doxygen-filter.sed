# docs/doxygen-filter.sed: Doxygen's INPUT_FILTER for the public headers (docs/Doxyfile.in).
# The headers use plain C comments, as STYLE.md asks; this turns them into Doxygen ones
# while Doxygen reads them, without touching the files:
#   line 1, "/* gradflow/x.h: what it does"  ->  a \file comment
#   "/* ---- banner ---- */"                  ->  left alone
#   a comment opening a line                  ->  "/**" (documents what follows)
#   a comment after code on its line          ->  "/**<" (documents what precedes)
1s|^/\* [A-Za-z_./]*\.h: |/** \\file\n * |
1b
/^[[:space:]]*\/\* -/b
s|^\([[:space:]]*\)/\* |\1/** |
s|\([^[:space:]/*]\)\([[:space:]][[:space:]]*\)/\* |\1\2/**< |
