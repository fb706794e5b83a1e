# first_net.gp: the tutorial's plots of first_net's telemetry (docs/tutorial.md), typed
# by hand in gnuplot or run as `gnuplot -persist first_net.gp` next to first_net.csv.
# Columns: 1 step, 2 layer, 3 kind, 4 loss, 5 grad_out_norm (||dL/dh||), 7
# weight_grad_norm, 14 act_std, ... (docs/file-formats.md). Empty fields are missing.
set datafile separator ','
set key autotitle columnhead
set logscale y
set xlabel 'step'

# The loss: the same on every layer's line, so read it from layer 0.
plot 'first_net.csv' using 1:($2 == 0 ? $4 : NaN) with lines title 'loss'

# ||dL/dh|| arriving at each linear layer (layers 0, 2, 4, 6), step by step.
plot for [l = 0:6:2] 'first_net.csv' using 1:($2 == l ? $5 : NaN) \
     with lines title sprintf('layer %d', l)

# The profile across depth at the first and at the last step, linear layers only
# (points: the activation rows in between are missing, which would break a line).
set xlabel 'layer'
set offsets 0.5, 0.5, 0, 0
plot 'first_net.csv' using 2:($1 == 0 && strcol(3) eq 'linear' ? $5 : NaN) \
       with points pointtype 7 title 'step 0', \
     '' using 2:($1 == 399 && strcol(3) eq 'linear' ? $5 : NaN) \
       with points pointtype 5 title 'step 399'
