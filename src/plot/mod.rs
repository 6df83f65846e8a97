//! PNG charts (plotters, with an embedded DejaVu Sans font so text renders on any machine):
//! learning curves, confusion matrices, ROC curves.
