//! The namespace lab that runs `carp-node` on real packets against ucarp,
//! keepalived and FRR: hosts joined by a bridge, processes it started and
//! only those, captures, and the measurements taken from them.

pub mod lab;
pub mod pcap;
pub mod peers;
