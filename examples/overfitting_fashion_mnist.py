"""The lecture's story about overfitting, on Fashion-MNIST.

A dense network far larger than 2,000 training images need learns them by heart: training
loss keeps falling while validation loss turns up. Then L2 weight penalties, dropout and
early stopping each narrow the gap between training and validation accuracy.

    python examples/overfitting_fashion_mnist.py --data ../shared/datasets/fashion-mnist
"""
import argparse

import numpy as np

import neuropil as keras
from neuropil import layers, regularizers


def build(variant: str) -> keras.Model:
    penalty = regularizers.L2(5e-3) if variant == "l2" else None
    stack = [keras.Input((784,))]
    for _ in range(3):
        stack.append(layers.Dense(512, activation="relu", kernel_regularizer=penalty))
        if variant == "dropout":
            stack.append(layers.Dropout(0.5))
    stack.append(layers.Dense(10, activation="softmax"))
    model = keras.Sequential(stack, name=variant)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory with the Fashion-MNIST files")
    parser.add_argument("--train-samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--variants", default="plain,l2,dropout,early_stopping")
    args = parser.parse_args()

    (x, y), _ = keras.datasets.fashion_mnist.load_data(path=args.data)
    x = x.reshape(-1, 784).astype("float32") / 255
    n = args.train_samples
    x_train, y_train = x[:n], y[:n]
    x_val, y_val = x[n:n + 10000], y[n:n + 10000]

    print(f"{'variant':<16} {'train acc':>9} {'val acc':>8} {'gap':>7} {'epochs':>6} "
          f"{'val loss: min @ epoch -> last':>30}")
    for variant in args.variants.split(","):
        keras.utils.set_random_seed(0)
        model = build(variant)
        callbacks = []
        if variant == "early_stopping":
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                                           restore_best_weights=True))
        history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs,
                            validation_data=(x_val, y_val), callbacks=callbacks, verbose=0)
        # Accuracies of the weights the model ends with (the restored best for early stopping).
        train_acc = model.evaluate(x_train, y_train, verbose=0)[1]
        val_acc = model.evaluate(x_val, y_val, verbose=0)[1]
        val_loss = np.array(history.history["val_loss"])
        best = int(val_loss.argmin())
        print(f"{variant:<16} {train_acc:>9.4f} {val_acc:>8.4f} {train_acc - val_acc:>7.4f} "
              f"{len(val_loss):>6} {val_loss.min():>12.4f} @ {best + 1:>3} -> {val_loss[-1]:.4f}")


if __name__ == "__main__":
    main()
