set terminal pngcairo size 1300,650 font ",10"
set termoption noenhanced
set output "perf/gp/results-16core/exp3_update_throughput.png"
set grid
set key outside right top
set datafile missing "NaN"
set title 'Update throughput, 8 readers + 8 updaters (levels: no batching)'
set logscale x 2
set logscale y
set xrange [1:32768]
set xlabel 'old versions freed per rcu_synchronize (batch size, log2)'
set ylabel 'updates/s (log)'
set key outside right top font ',8'
plot 'perf/gp/results-16core/gnuplot/exp3_qsbr_batch.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 1 pt 1 title 'QSBR, batch', \
  'perf/gp/results-16core/gnuplot/exp3_memb_batch.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 2 pt 2 title 'memb (membarrier), batch', \
  'perf/gp/results-16core/gnuplot/exp3_mb_batch.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 3 pt 3 title 'mb (fences), batch', \
  'perf/gp/results-16core/gnuplot/exp3_bp_batch.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 4 pt 4 title 'bp (bullet-proof), batch', \
  'perf/gp/results-16core/gnuplot/exp3_qsbr_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 1 pt 1 title 'QSBR, sync per update', \
  'perf/gp/results-16core/gnuplot/exp3_qsbr_retire.dat' using 1:2:3:4 with yerrorlines lw 2 dt 3 lc 1 pt 1 title 'QSBR, retire (call_rcu)', \
  'perf/gp/results-16core/gnuplot/exp3_memb_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 2 pt 2 title 'memb (membarrier), sync per update', \
  'perf/gp/results-16core/gnuplot/exp3_memb_retire.dat' using 1:2:3:4 with yerrorlines lw 2 dt 3 lc 2 pt 2 title 'memb (membarrier), retire (call_rcu)', \
  'perf/gp/results-16core/gnuplot/exp3_mb_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 3 pt 3 title 'mb (fences), sync per update', \
  'perf/gp/results-16core/gnuplot/exp3_mb_retire.dat' using 1:2:3:4 with yerrorlines lw 2 dt 3 lc 3 pt 3 title 'mb (fences), retire (call_rcu)', \
  'perf/gp/results-16core/gnuplot/exp3_bp_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 4 pt 4 title 'bp (bullet-proof), sync per update', \
  'perf/gp/results-16core/gnuplot/exp3_bp_retire.dat' using 1:2:3:4 with yerrorlines lw 2 dt 3 lc 4 pt 4 title 'bp (bullet-proof), retire (call_rcu)', \
  'perf/gp/results-16core/gnuplot/exp3_rwlock_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 4 lc 5 pt 5 title 'pthread rwlock, write lock', \
  'perf/gp/results-16core/gnuplot/exp3_shared_mutex_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 4 lc 6 pt 6 title 'std::shared_mutex, write lock', \
  'perf/gp/results-16core/gnuplot/exp3_mutex_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 4 lc 7 pt 7 title 'global mutex, write lock', \
  'perf/gp/results-16core/gnuplot/exp3_per_thread_mutex_sync.dat' using 1:2:3:4 with yerrorlines lw 2 dt 4 lc 8 pt 8 title 'per-thread mutex, write lock'
unset output
