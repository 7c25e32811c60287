//! Generating a corpus: the request (class counts, sampling, seeds), writing the corpus, and
//! its quality report.

pub(crate) mod corpus;
pub(crate) mod quality;
pub(crate) mod request;
