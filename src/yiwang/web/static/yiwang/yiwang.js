// Yiwang shell behaviour
