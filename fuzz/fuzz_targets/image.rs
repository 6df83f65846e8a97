//! The images `strata predict` reads: `strata::data::images::read_images` on a picture
//! (PNG, JPEG, PGM/PPM/PNM, chosen by the file's extension as the command does) or an IDX
//! array, for one of a few model input shapes.
//!
//! The first byte picks the extension (low 3 bits) and the model input shape (next 2 bits).
#![no_main]

use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] =
    ["input.png", "input.jpg", "input.jpeg", "input.pgm", "input.ppm", "input.pnm", "input-idx3-ubyte", "input.PNG"];
const SHAPES: [&[usize]; 4] = [&[1, 28, 28], &[3, 8, 8], &[784], &[2, 1, 1]];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let name = NAMES[usize::from(mode & 7)];
    let shape = SHAPES[usize::from((mode >> 3) & 3)];
    let path = strata_fuzz::scratch(name, rest);
    if let Ok(x) = strata::data::images::read_images(&path, shape) {
        assert_eq!(&x.shape()[1..], shape, "batch does not fit the model input");
    }
});
