//! auscult-vqvae (being written; see the README for what works today).
