$series0 << EOD
0.1 0.87292
0.2 0.87244
0.3 0.87164
0.4 0.86764
0.5 0.86884
0.6 0.86584
0.7 0.86028
0.8 0.85572
0.9 0.8252
EOD
$series1 << EOD
0.1 0.86936
0.2 0.86712
0.3 0.86356
0.4 0.86304
0.5 0.8546
0.6 0.84444
0.7 0.6956
0.8 0.50396
0.9 0.50504
EOD
set title "Unstructured pruning of every Linear, then fine-tuning (IMDb test)"
set xlabel "sparsity"
set ylabel "highest accuracy"
set grid
set key bottom right
set xtics (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "/work/runs/lab-full/prune/pruning.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "L1-Norm", $series1 using 1:2 with linespoints lw 2 pt 7 title "Random", 0.87328 with lines dt 2 lw 2 title "unpruned (best QAT model)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "/work/runs/lab-full/prune/pruning.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "L1-Norm", $series1 using 1:2 with linespoints lw 2 pt 7 title "Random", 0.87328 with lines dt 2 lw 2 title "unpruned (best QAT model)"
unset output
