//! auscult-classifier (being written; see the README for what works today).
