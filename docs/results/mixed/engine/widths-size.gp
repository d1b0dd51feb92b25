$series0 << EOD
8 4.825095
EOD
set title "Compiled BERT-Tiny: file size"
set xlabel "fixed-point width (bits) of every Linear's input, weight and bias (PTQ)"
set ylabel "MB (float32 checkpoint: 17.55 MB)"
set grid
set key bottom right
set xtics (8)
if (!exists("png_file")) png_file = "docs/results/mixed/engine/widths-size.png"
if (!exists("svg_file")) svg_file = "docs/results/mixed/engine/widths-size.svg"
set terminal pngcairo size 900,600 enhanced font 'sans,11'
set output png_file
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model file", 5.01409 with lines dt 2 lw 2 title "float32 checkpoint / 3.5 (the 8-bit target)"
set terminal svg size 900,600 enhanced font 'sans,11'
set output svg_file
plot $series0 using 1:2 with linespoints lw 2 pt 7 title "compiled model file", 5.01409 with lines dt 2 lw 2 title "float32 checkpoint / 3.5 (the 8-bit target)"
unset output
