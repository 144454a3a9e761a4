//! zkpay benchmarks and the zkpay-bench reporter
