set terminal pngcairo size 1000,650 font ",10"
set termoption noenhanced
set output "perf/gp/results-16core/exp2_section_length.png"
set grid
set key outside right top
set datafile missing "NaN"
set title 'Read-side critical-section length, 16 readers, no writer'
set logscale xy
set xlabel 'busy work per read-side section (TSC cycles; 0 plotted at 1)'
set ylabel 'reads/s (log)'
plot 'perf/gp/results-16core/gnuplot/exp2_qsbr.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 1 pt 1 title 'QSBR', \
  'perf/gp/results-16core/gnuplot/exp2_memb.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 2 pt 2 title 'memb (membarrier)', \
  'perf/gp/results-16core/gnuplot/exp2_mb.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 3 pt 3 title 'mb (fences)', \
  'perf/gp/results-16core/gnuplot/exp2_bp.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 4 pt 4 title 'bp (bullet-proof)', \
  'perf/gp/results-16core/gnuplot/exp2_rwlock.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 5 pt 5 title 'pthread rwlock', \
  'perf/gp/results-16core/gnuplot/exp2_shared_mutex.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 6 pt 6 title 'std::shared_mutex', \
  'perf/gp/results-16core/gnuplot/exp2_mutex.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 7 pt 7 title 'global mutex', \
  'perf/gp/results-16core/gnuplot/exp2_per_thread_mutex.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 8 pt 8 title 'per-thread mutex'
unset output
