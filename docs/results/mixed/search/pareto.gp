$series0 << EOD
2 0.8565
2.203385966 0.9135
2.32009993 0.916
2.327880861 0.919
2.399577967 0.9195
2.439316986 0.921
2.479056004 0.922
2.480613161 0.925
2.482480778 0.9255
3.243741056 0.9265
5.069562686 0.927
EOD
$series1 << EOD
2 0.5 "w2"
3 0.5 "w3"
4 0.5 "w4"
5 0.5 "w5"
6 0.9115 "w6"
7 0.912 "w7"
8 0.922 "w8"
9 0.922 "w9"
10 0.9265 "w10"
11 0.9265 "w11"
12 0.927 "w12"
13 0.927 "w13"
14 0.9245 "w14"
15 0.9245 "w15"
16 0.9275 "w16"
EOD
$series2 << EOD
2 0.777 "w2"
3 0.898 "w3"
4 0.9225 "w4"
5 0.924 "w5"
6 0.925 "w6"
7 0.9265 "w7"
8 0.9245 "w8"
9 0.9255 "w9"
10 0.9255 "w10"
11 0.9255 "w11"
12 0.9255 "w12"
13 0.9255 "w13"
14 0.9255 "w14"
15 0.9255 "w15"
16 0.9255 "w16"
EOD
$series3 << EOD
2.439316986 0.921
EOD
$series4 << EOD
2.439316986 0.9295
EOD
set title "Mixed precision against uniform widths (BERT Linear layers, validation set)"
set xlabel "average bits per Linear parameter (weights and biases)"
set ylabel "validation accuracy"
set grid
set key bottom right
set yrange [0.8955:0.933]
if (!exists("png_file")) png_file = "/work/runs/mixed-full/pareto.png"
if (!exists("svg_file")) svg_file = "/work/runs/mixed-full/pareto.svg"
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output png_file
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "mixed widths, Pareto front", $series1 using 1:2 with linespoints lw 2 pt 7 title "uniform, frac width/2", $series2 using 1:2 with linespoints lw 2 pt 7 title "uniform, frac calibrated", $series3 using 1:2 with linespoints lw 2 pt 7 title "chosen (PTQ)", $series4 using 1:2 with linespoints lw 2 pt 7 title "chosen + QAT", $series1 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series2 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, 0.9255 with lines dt 2 lw 2 title "float32", 0.9205 with lines dt 2 lw 2 title "budget (float - 0.50 points)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output svg_file
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "mixed widths, Pareto front", $series1 using 1:2 with linespoints lw 2 pt 7 title "uniform, frac width/2", $series2 using 1:2 with linespoints lw 2 pt 7 title "uniform, frac calibrated", $series3 using 1:2 with linespoints lw 2 pt 7 title "chosen (PTQ)", $series4 using 1:2 with linespoints lw 2 pt 7 title "chosen + QAT", $series1 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series2 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, 0.9255 with lines dt 2 lw 2 title "float32", 0.9205 with lines dt 2 lw 2 title "budget (float - 0.50 points)"
unset output
