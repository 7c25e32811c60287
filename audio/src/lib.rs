//! auscult-audio (being written; see the README for what works today).
