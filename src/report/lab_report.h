#pragma once
#include <filesystem>

#include "report/document.h"
#include "report/lab_results.h"

namespace whittle::report {

struct LabReportFiles {
  std::filesystem::path markdown;  // <run_dir>/report.md
  std::filesystem::path html;      // <run_dir>/report.html
};

// The report as a document: summary (with the reference column when given),
// baseline and LoRA, quantization and pruning tables with sizes, figures,
// stage timings, machine, configs and notes. Figures are linked relative to
// `run_dir` and their SVGs read for inlining. Throws whittle::Error naming
// the file when a figure's .png or .svg is missing or not an inlinable SVG.
Document lab_document(const LabReport& report, const std::filesystem::path& run_dir);

// Writes report.md (figures linked) and report.html (self-contained: CSS
// and figures inline) into `run_dir`, each atomically. Nothing is written
// when a figure is missing.
LabReportFiles write_lab_report(const LabReport& report, const std::filesystem::path& run_dir);

// The third figure of the lab: accuracy against the storage of the Linear
// layers (KiB, log scale), one series per family: the float32 baseline, PTQ
// and QAT (points labelled with their width), and one per pruning method
// (labelled with the sparsity). Only rows with a size are drawn. Writes
// `<base>.png`, `.svg` and `.gp` with report::draw and returns the figure
// with `base` as given. Throws whittle::Error when no row has both a size and
// an accuracy.
Figure draw_size_figure(const LabReport& report, const std::filesystem::path& base);

}  // namespace whittle::report
