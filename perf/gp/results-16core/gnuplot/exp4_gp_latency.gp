set terminal pngcairo size 1800,600 font ",10"
set termoption noenhanced
set output "perf/gp/results-16core/exp4_gp_latency.png"
set grid
set key outside right top
set datafile missing "NaN"
set multiplot layout 1,3 title 'Grace-period latency (rcu_synchronize) and retire -> deleter latency'
set logscale y
set key top left inside font ',8'
set title 'vs readers (section 0 cycles)'
set xlabel 'busy reader threads'
set ylabel 'rcu_synchronize latency (us, log)'
unset logscale x
set xtics 1
plot 'perf/gp/results-16core/gnuplot/exp4_readers_qsbr_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 1 pt 1 title 'qsbr p50', \
  'perf/gp/results-16core/gnuplot/exp4_readers_qsbr_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 1 pt 1 title 'qsbr p99', \
  'perf/gp/results-16core/gnuplot/exp4_readers_memb_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 2 pt 2 title 'memb p50', \
  'perf/gp/results-16core/gnuplot/exp4_readers_memb_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 2 pt 2 title 'memb p99', \
  'perf/gp/results-16core/gnuplot/exp4_readers_mb_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 3 pt 3 title 'mb p50', \
  'perf/gp/results-16core/gnuplot/exp4_readers_mb_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 3 pt 3 title 'mb p99', \
  'perf/gp/results-16core/gnuplot/exp4_readers_bp_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 4 pt 4 title 'bp p50', \
  'perf/gp/results-16core/gnuplot/exp4_readers_bp_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 4 pt 4 title 'bp p99'
set title 'vs section length (15 readers)'
set xlabel 'read-side section (TSC cycles; 0 at 1)'
set ylabel 'rcu_synchronize latency (us, log)'
set logscale x
set xtics autofreq
plot 'perf/gp/results-16core/gnuplot/exp4_section_cycles_qsbr_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 1 pt 1 title 'qsbr p50', \
  'perf/gp/results-16core/gnuplot/exp4_section_cycles_qsbr_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 1 pt 1 title 'qsbr p99', \
  'perf/gp/results-16core/gnuplot/exp4_section_cycles_memb_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 2 pt 2 title 'memb p50', \
  'perf/gp/results-16core/gnuplot/exp4_section_cycles_memb_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 2 pt 2 title 'memb p99', \
  'perf/gp/results-16core/gnuplot/exp4_section_cycles_mb_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 3 pt 3 title 'mb p50', \
  'perf/gp/results-16core/gnuplot/exp4_section_cycles_mb_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 3 pt 3 title 'mb p99', \
  'perf/gp/results-16core/gnuplot/exp4_section_cycles_bp_p50.dat' using 1:2:3:4 with yerrorlines lw 2 dt 1 lc 4 pt 4 title 'bp p50', \
  'perf/gp/results-16core/gnuplot/exp4_section_cycles_bp_p99.dat' using 1:2:3:4 with yerrorlines lw 2 dt 2 lc 4 pt 4 title 'bp p99'
unset logscale x
set title 'retire -> deleter'
set xlabel ''
set ylabel 'latency (us, log)'
set xtics rotate by -45 font ',8'
set xrange [-0.5:11.500000]
plot 'perf/gp/results-16core/gnuplot/exp4_retire.dat' using 1:3:xtic(2) with points pt 7 ps 1.5 title 'p50', '' using 1:4 with points pt 9 ps 1.5 title 'p90', '' using 1:5 with points pt 5 ps 1.5 title 'p99', '' using 1:6 with points pt 3 ps 1.5 title 'max'
unset multiplot
unset output
