//! zkpay strict proof decoding, verification and the base ledger
