//! The metadata document. `ocf-metadata/IPaddr.xml` is its source of truth;
//! it is compiled in so `meta-data` needs no files at run time.

pub const XML: &str = include_str!("../../ocf-metadata/IPaddr.xml");
