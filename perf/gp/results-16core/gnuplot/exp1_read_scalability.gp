set terminal pngcairo size 1300,600 font ",10"
set termoption noenhanced
set output "perf/gp/results-16core/exp1_read_scalability.png"
set grid
set key outside right top
set datafile missing "NaN"
set multiplot layout 1,2 title 'Read-side scalability (Desnoyers et al. 2012, Fig. read scalability)'
set logscale y
set xlabel 'reader threads'
set ylabel 'reads/s (log)'
set key bottom right inside font ',8'
set xtics 1
set title 'no writer'
plot 'perf/gp/results-16core/gnuplot/exp1_qsbr_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 1 pt 1 title 'QSBR', \
  'perf/gp/results-16core/gnuplot/exp1_memb_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 2 pt 2 title 'memb (membarrier)', \
  'perf/gp/results-16core/gnuplot/exp1_mb_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 3 pt 3 title 'mb (fences)', \
  'perf/gp/results-16core/gnuplot/exp1_bp_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 4 pt 4 title 'bp (bullet-proof)', \
  'perf/gp/results-16core/gnuplot/exp1_rwlock_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 5 pt 5 title 'pthread rwlock', \
  'perf/gp/results-16core/gnuplot/exp1_shared_mutex_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 6 pt 6 title 'std::shared_mutex', \
  'perf/gp/results-16core/gnuplot/exp1_mutex_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 7 pt 7 title 'global mutex', \
  'perf/gp/results-16core/gnuplot/exp1_per_thread_mutex_w0.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 8 pt 8 title 'per-thread mutex'
set title 'one writer (continuous updates)'
plot 'perf/gp/results-16core/gnuplot/exp1_qsbr_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 1 pt 1 title 'QSBR', \
  'perf/gp/results-16core/gnuplot/exp1_memb_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 2 pt 2 title 'memb (membarrier)', \
  'perf/gp/results-16core/gnuplot/exp1_mb_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 3 pt 3 title 'mb (fences)', \
  'perf/gp/results-16core/gnuplot/exp1_bp_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 4 pt 4 title 'bp (bullet-proof)', \
  'perf/gp/results-16core/gnuplot/exp1_rwlock_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 5 pt 5 title 'pthread rwlock', \
  'perf/gp/results-16core/gnuplot/exp1_shared_mutex_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 6 pt 6 title 'std::shared_mutex', \
  'perf/gp/results-16core/gnuplot/exp1_mutex_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 7 pt 7 title 'global mutex', \
  'perf/gp/results-16core/gnuplot/exp1_per_thread_mutex_w1.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 8 pt 8 title 'per-thread mutex'
unset multiplot
unset output
