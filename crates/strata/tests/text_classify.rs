//! Text classification: reading a text CSV, the encoding fitted on the training texts,
//! and Kim's convolutional network (shapes, gradients by finite differences).

use std::path::PathBuf;
use strata::autograd::Tape;
use strata::autograd::gradcheck::check_gradients;
use strata::nn::{Embedding, ForwardCtx, Layer};
use strata::text::{TextEncoding, TextNetOptions, read_text_table, text_classifier};
use strata::{Rng, Tensor};

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn text_tables_are_read_and_bad_ones_refused_in_one_line() {
    let ok = write("ok.csv", "id,text,label\n1,\"Hello, world\",a\n2,bye now,b\n");
    let t = read_text_table(&ok, "text", None).unwrap();
    assert_eq!(t.texts, ["Hello, world", "bye now"]);
    assert_eq!((t.labels.as_slice(), t.label_column.as_str()), (&["a".to_string(), "b".to_string()][..], "label"));
    let cases = [
        ("nocol.csv", "id,body,label\n1,hi,a\n", "no text column 'text' (columns: id, body, label)"),
        ("empty.csv", "text,label\nhi,a\n  ,b\n", "line 3: empty text in column 'text'"),
        ("norows.csv", "text,label\n", "no data rows"),
        ("nolabel.csv", "text,label\nhi,\n", "line 2: no label in column 'label'"),
    ];
    for (name, body, want) in cases {
        let p = write(name, body);
        let e = read_text_table(&p, "text", None).unwrap_err().to_string();
        assert!(e.contains(name) && e.contains(want) && !e.contains('\n'), "{e}");
    }
    let e = read_text_table(&ok, "text", Some("topic")).unwrap_err().to_string();
    assert!(e.contains("no label column 'topic'"), "{e}");
}

#[test]
fn the_encoding_knows_only_training_words_and_pads_or_cuts() {
    let train = vec!["the cat sat".to_string(), "the dog sat down".to_string()];
    let enc = TextEncoding::fit(&train, Some(3), 1, false).unwrap();
    let v = enc.vocab.len();
    assert_eq!(enc.pad_id(), v);
    assert_eq!(enc.embedding_rows(), v + 1);
    let x = enc.encode(&["the zebra".to_string(), "the dog sat down".to_string()]).unwrap();
    assert_eq!(x.shape(), &[2, 3]);
    let row = &x.data()[..3];
    assert_eq!(row[1], 0.0, "a word not in the training texts is the unknown id 0");
    assert_eq!(row[2], v as f32, "short texts are padded");
    assert_eq!(x.data()[3], enc.vocab.id("the") as f32, "long texts keep their first words");
    // bags of words: one input per word, 1 where it occurs, unknown words dropped
    let bow = TextEncoding::fit(&train, None, 1, true).unwrap();
    let b = bow.encode(&["cat cat zebra".to_string()]).unwrap();
    assert_eq!(b.shape(), &[1, v]);
    assert_eq!(b.data().iter().sum::<f32>(), 1.0);
    assert_eq!(b.data()[bow.vocab.id("cat") as usize], 1.0);
    // the default length: the 95th percentile of the training lengths, at least 5
    assert_eq!(TextEncoding::fit(&train, None, 1, false).unwrap().max_len, 5);
    assert!(TextEncoding::fit(&train, Some(0), 1, false).is_err());
}

#[test]
fn embedding_channels_first_is_the_transposed_table_lookup() {
    let mut rng = Rng::seeded(1);
    let (mut a, mut b) = (Embedding::new(7, 3), Embedding::new(7, 3).channels_first(true));
    assert_eq!(a.build(&[4], &mut rng).unwrap(), vec![4, 3]);
    assert_eq!(b.build(&[4], &mut Rng::seeded(1)).unwrap(), vec![3, 4]);
    b.params_mut()[0].value = a.params()[0].value.clone();
    let ids = Tensor::from_vec(vec![1., 6., 0., 1., 2., 3., 4., 5.], &[2, 4]).unwrap();
    let run = |l: &Embedding| {
        let tape = Tape::new();
        let mut rng = Rng::seeded(0);
        let mut ctx = ForwardCtx::new(&tape, false, &mut rng);
        l.forward(&tape.input(ids.clone()), &mut ctx).unwrap().into_value()
    };
    let (ya, yb) = (run(&a), run(&b));
    assert_eq!(yb.shape(), &[2, 3, 4]);
    for n in 0..2 {
        for t in 0..4 {
            for e in 0..3 {
                assert_eq!(ya.data()[(n * 4 + t) * 3 + e], yb.data()[(n * 3 + e) * 4 + t]);
            }
        }
    }
}

#[test]
fn textcnn_shapes_and_gradients_of_convolution_and_max_over_time() {
    let opts = TextNetOptions { embed: 4, filters: 3, hidden: 5, dropout: 0.5 };
    let mut m = text_classifier("textcnn", 20, 9, 4, opts).unwrap().unwrap();
    m.build(&[9]).unwrap();
    // embedding [4, 9] -> [4, 9, 1] -> three branches [3, 1, 1] joined -> 9 -> dropout -> 4
    let tape = Tape::new();
    let mut ctx = ForwardCtx::eval(&tape);
    let mut y = tape.input(Tensor::from_vec((0..9).map(|i| (i * 2) as f32).collect(), &[1, 9]).unwrap());
    let mut shapes = Vec::new();
    for l in m.layers() {
        y = l.forward(&y, &mut ctx).unwrap();
        shapes.push(y.shape()[1..].to_vec());
    }
    assert_eq!(shapes, vec![vec![4, 9], vec![4, 9, 1], vec![9, 1, 1], vec![9], vec![9], vec![4]]);
    let params: usize = m.layers().iter().flat_map(|l| l.params()).map(|p| p.value.numel()).sum();
    // embedding 20x4, convolutions (4*w*3 + 3) for w = 3, 4, 5, dense 9x4 + 4
    assert_eq!(params, 80 + (36 + 3) + (48 + 3) + (60 + 3) + 40);
    for name in ["lstm", "gru"] {
        let mut r = text_classifier(name, 20, 9, 4, opts).unwrap().unwrap();
        r.build(&[9]).unwrap();
        assert_eq!(r.output_shape(), Some(&[4][..]));
    }
    assert!(text_classifier("textcnn", 20, 4, 4, opts).is_err(), "texts shorter than the widest filter");
    assert!(text_classifier("mlp", 20, 9, 4, opts).unwrap().is_none());
    // d(out)/d(word vectors) through the 1-D convolutions and max-over-time pooling, by
    // finite differences (random vectors: no ties in the maxima)
    let body = &m.layers()[1..4];
    let x = Tensor::rand_normal(&[2, 4, 9], 0.0, 1.0, &mut Rng::seeded(3));
    let check = check_gradients(
        |v| {
            let mut ctx = ForwardCtx::eval(v[0].tape());
            let mut y = v[0].clone();
            for l in body {
                y = l.forward(&y, &mut ctx)?;
            }
            Ok(y)
        },
        &[x],
        1e-3,
        2e-3,
        2e-2,
    )
    .unwrap();
    assert!(check.worst_ratio <= 1.0, "{check:?}");
}
