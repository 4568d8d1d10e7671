//! One module per relation endpoint: parsing what the other side wrote (untrusted input, parsed
//! at the edge) and deciding what we write.

pub mod database;
pub mod etcd;
pub mod pgsql;
