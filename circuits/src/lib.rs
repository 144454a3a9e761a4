//! zkpay R1CS gadgets and circuits (arkworks 0.6), each at the module path of its native twin
