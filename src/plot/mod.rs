//! Pictures: image grids of filters and feature maps (tiles).

pub mod tiles;
