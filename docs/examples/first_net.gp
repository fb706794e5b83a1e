# first_net.gp: the tutorial's plots of first_net's telemetry (docs/tutorial.md, section
# 4), as SVG files: run `gnuplot docs/examples/first_net.gp` where first_net.csv is, and
# open first_net_loss.svg, first_net_signal.svg and first_net_profile.svg in a browser.
# The svg terminal is in every gnuplot, gnuplot-nox included.
# Columns: 1 step, 2 layer, 3 kind, 4 loss, 5 grad_out_norm (||dL/dh||), 7
# weight_grad_norm, 10 update_ratio, 14 act_std, ... (docs/file-formats.md).
set datafile separator ','
# Each step has one line per layer; a curve takes one layer's lines and makes the others
# NaN. Treated as missing, those points are skipped and the curve stays joined (a plain
# NaN would break the line at every other point, leaving nothing drawn). gnuplot >= 5.4.
set datafile missing NaN
set key autotitle columnhead
set logscale y
set xlabel 'step'
set terminal svg size 900,600

# The loss: the same on every layer's line, so read it from layer 0.
set output 'first_net_loss.svg'
plot 'first_net.csv' using 1:($2 == 0 ? $4 : NaN) with lines title 'loss'

# ||dL/dh|| arriving at each linear layer (layers 0, 2, 4, 6), step by step.
set output 'first_net_signal.svg'
plot for [l = 0:6:2] 'first_net.csv' using 1:($2 == l ? $5 : NaN) \
     with lines title sprintf('layer %d', l)

# The profile across depth at the first and at the last step, linear layers only.
set output 'first_net_profile.svg'
set xlabel 'layer'
set offsets 0.5, 0.5, 0, 0
plot 'first_net.csv' using 2:($1 == 0 && strcol(3) eq 'linear' ? $5 : NaN) \
       with linespoints pointtype 7 title 'step 0', \
     '' using 2:($1 == 399 && strcol(3) eq 'linear' ? $5 : NaN) \
       with linespoints pointtype 5 title 'step 399'
unset output
