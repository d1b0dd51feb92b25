$series0 << EOD
0.1 0.87124
0.2 0.87124
0.3 0.8718
0.4 0.871
0.5 0.86948
0.6 0.86888
0.7 0.8694
0.8 0.8674
0.9 0.77436
EOD
$series1 << EOD
0.1 0.86732
0.2 0.86888
0.3 0.8688
0.4 0.86964
0.5 0.86508
0.6 0.833
0.7 0.53764
0.8 0.50056
0.9 0.5
EOD
set title "Unstructured pruning of every Linear, then fine-tuning (IMDb test)"
set xlabel "sparsity"
set ylabel "highest accuracy"
set grid
set key bottom right
set xtics (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "docs/results/prune/pruning.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "L1-Norm", $series1 using 1:2 with linespoints lw 2 pt 7 title "Random", 0.87144 with lines dt 2 lw 2 title "unpruned (best QAT model)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output "docs/results/prune/pruning.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "L1-Norm", $series1 using 1:2 with linespoints lw 2 pt 7 title "Random", 0.87144 with lines dt 2 lw 2 title "unpruned (best QAT model)"
unset output
