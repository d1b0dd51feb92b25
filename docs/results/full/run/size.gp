$series0 << EOD
1610.507812 0.87828 "fp32"
EOD
$series1 << EOD
201.3134766 0.5 "w4"
301.9702148 0.86324 "w6"
402.6269531 0.8774 "w8"
503.2836914 0.87788 "w10"
603.9404297 0.87792 "w12"
704.597168 0.87804 "w14"
805.2539062 0.87796 "w16"
1006.567383 0.8782 "w20"
1207.880859 0.87812 "w24"
1409.194336 0.87824 "w28"
1610.507812 0.87828 "w32"
EOD
$series2 << EOD
201.3134766 0.5 "w4"
301.9702148 0.8702 "w6"
402.6269531 0.8728 "w8"
503.2836914 0.87208 "w10"
603.9404297 0.8728 "w12"
704.597168 0.87296 "w14"
805.2539062 0.87328 "w16"
1006.567383 0.8732 "w20"
1207.880859 0.87308 "w24"
1409.194336 0.87312 "w28"
1610.507812 0.87316 "w32"
EOD
$series3 << EOD
84.81835938 0.8252 "s0.9"
164.8554688 0.85572 "s0.8"
244.9023438 0.86028 "s0.7"
324.9570312 0.86584 "s0.6"
405.0039062 0.86884 "s0.5"
485.0410156 0.86764 "s0.4"
565.1054688 0.87164 "s0.3"
645.1425781 0.87244 "s0.2"
725.1894531 0.87292 "s0.1"
EOD
$series4 << EOD
84.68945312 0.50504 "s0.9"
165.2988281 0.50396 "s0.8"
245.0644531 0.6956 "s0.7"
325.5644531 0.84444 "s0.6"
406.2050781 0.8546 "s0.5"
485.6875 0.86304 "s0.4"
565.6757812 0.86356 "s0.3"
645.2910156 0.86712 "s0.2"
725.3730469 0.86936 "s0.1"
EOD
set title "Accuracy against the storage of the Linear layers"
set xlabel "Linear layers (KiB, log scale)"
set ylabel "accuracy"
set grid
set key bottom right
set logscale x
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output "/work/runs/lab-full/size.png"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "float32 baseline", $series1 using 1:2 with linespoints lw 2 pt 7 title "PTQ", $series2 using 1:2 with linespoints lw 2 pt 7 title "QAT", $series3 using 1:2 with linespoints lw 2 pt 7 title "pruned, L1-norm", $series4 using 1:2 with linespoints lw 2 pt 7 title "pruned, random", $series0 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series1 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series2 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series3 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series4 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle
set terminal svg size 900,600 enhanced font 'sans,11'
set output "/work/runs/lab-full/size.svg"
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "float32 baseline", $series1 using 1:2 with linespoints lw 2 pt 7 title "PTQ", $series2 using 1:2 with linespoints lw 2 pt 7 title "QAT", $series3 using 1:2 with linespoints lw 2 pt 7 title "pruned, L1-norm", $series4 using 1:2 with linespoints lw 2 pt 7 title "pruned, random", $series0 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series1 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series2 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series3 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle, $series4 using 1:2:3 with labels left offset char 0.7,0.7 font ',9' noenhanced notitle
unset output
