"""Reference oracles: the Python stack (pandas + xgboost), used to check churnops.

Encoding follows DESIGN.md: a categorical feature's code is the index of its
level in the schema's sorted `levels` (pandas' category convention); "" and
"NA" are missing; a level not in the schema is missing.
"""

import numpy as np
import pandas as pd
import xgboost as xgb

MISSING = ["", "NA"]


def read_frame(path):
    """Reads a CSV as pandas would for this project: every column as str, only
    "" and "NA" are missing (pandas' longer default NA list is not ours)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=MISSING)


def encode(df, schema):
    """DataFrame in the schema's feature order: numeric columns as float,
    categorical columns as pd.Categorical with the schema's levels."""
    cols = {}
    for f in schema["features"]:
        name = f["name"]
        if f["type"] == "categorical":
            cols[name] = pd.Categorical(df[name], categories=f["levels"])
        else:
            cols[name] = pd.to_numeric(df[name]).astype("float64")
    return pd.DataFrame(cols, columns=[f["name"] for f in schema["features"]])


def encode_float(df, schema):
    """The same rows as a float32 matrix of codes (NaN = missing)."""
    enc = encode(df, schema)
    out = np.empty(enc.shape, dtype=np.float32)
    for j, f in enumerate(schema["features"]):
        col = enc[f["name"]]
        if f["type"] == "categorical":
            codes = col.cat.codes.to_numpy().astype(np.float32)
            codes[codes < 0] = np.nan
            out[:, j] = codes
        else:
            out[:, j] = col.to_numpy(dtype=np.float32)
    return out


def dmatrix(df, schema, label=None):
    return xgb.DMatrix(encode(df, schema), label=label, enable_categorical=True)


def booster(path):
    return xgb.Booster(model_file=path)


def predict(bst, df, schema):
    return bst.predict(dmatrix(df, schema))


def margin(bst, df, schema):
    return bst.predict(dmatrix(df, schema), output_margin=True)


def contributions(bst, df, schema):
    """SHAP contributions, shape (rows, features + 1); the last column is the bias."""
    return bst.predict(dmatrix(df, schema), pred_contribs=True)


def typical_frame(schema):
    """A one-row DataFrame (as strings) of the schema's typical customer."""
    row = {}
    for f in schema["features"]:
        t = f.get("typical")
        row[f["name"]] = [np.nan if t is None else (t if isinstance(t, str) else repr(float(t)))]
    return pd.DataFrame(row)
