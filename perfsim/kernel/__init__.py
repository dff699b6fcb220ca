"""The kernel: pure array functions — scoring rules, weighting methods, grading, linkage, the
evaluation process, the year kernel and the metric registry. Arrays in, arrays out."""
