package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// shop is the in-memory back end the agent's tools work on.
type shop struct {
	mu        sync.Mutex
	customers map[string]customer // by id
	orders    map[string]*order   // by id
	returns   int
	refunds   int
}

type customer struct {
	ID, Name, Email, Tier string
}

type order struct {
	ID, CustomerID, Status string
	Total                  float64
	Currency               string
}

func newShop() *shop {
	s := &shop{customers: map[string]customer{}, orders: map[string]*order{}}
	for _, c := range []customer{
		{"C-1001", "Jane Doe", "jane.doe@example.com", "gold"},
		{"C-1002", "Ravi Kumar", "ravi.kumar@example.net", "standard"},
		{"C-1003", "Ana Souza", "ana.souza@example.org", "standard"},
		{"C-1004", "Tom Becker", "tom.becker@example.com", "business"},
	} {
		s.customers[c.ID] = c
	}
	for _, o := range []order{
		{"O-5001", "C-1001", "processing", 42.00, "EUR"},
		{"O-5002", "C-1002", "shipped", 89.50, "EUR"},
		{"O-5003", "C-1003", "delivered", 129.99, "EUR"},
		{"O-5004", "C-1004", "processing", 1240.00, "EUR"},
	} {
		s.orders[o.ID] = &o
	}
	return s
}

// orderError is a tool failure with its own error.type.
type orderError struct {
	kind, msg string
}

func (e *orderError) Error() string     { return e.msg }
func (e *orderError) ErrorType() string { return e.kind }

// work stands for a back-end round trip.
func work() { time.Sleep(3 * time.Millisecond) }

// register adds the shop's tools to r.
func (s *shop) register(r *instrumentation.Registry) error {
	tools := []struct {
		tool instrumentation.Tool
		h    instrumentation.Handler
	}{
		{instrumentation.Tool{Name: "get_customer", Type: "datastore", Description: "Finds a customer by id or e-mail address"},
			instrumentation.Typed(s.getCustomer)},
		{instrumentation.Tool{Name: "get_order", Type: "datastore", Description: "Reads an order"},
			instrumentation.Typed(s.getOrder)},
		{instrumentation.Tool{Name: "update_order_status", Type: "extension", Description: "Changes an order's status; shipped orders cannot change"},
			instrumentation.Typed(s.updateOrderStatus)},
		{instrumentation.Tool{Name: "initiate_return", Type: "extension", Description: "Opens a return for an order"},
			instrumentation.Typed(s.initiateReturn)},
		{instrumentation.Tool{Name: "issue_refund", Type: "extension", Description: "Refunds an order through the payment gateway"},
			instrumentation.Typed(s.issueRefund)},
	}
	for _, t := range tools {
		if err := r.Register(t.tool, t.h); err != nil {
			return err
		}
	}
	return nil
}

func (s *shop) getCustomer(_ context.Context, a struct {
	CustomerID string `json:"customer_id"`
	Email      string `json:"email"`
}) (map[string]any, error) {
	work()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.customers {
		if c.ID == a.CustomerID || (a.Email != "" && strings.EqualFold(c.Email, a.Email)) {
			return map[string]any{"customer_id": c.ID, "name": c.Name, "email": c.Email, "tier": c.Tier}, nil
		}
	}
	return nil, &orderError{"customer_not_found", "no customer matches"}
}

func (s *shop) getOrder(_ context.Context, a struct {
	OrderID string `json:"order_id"`
}) (map[string]any, error) {
	work()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[a.OrderID]
	if !ok {
		return nil, &orderError{"order_not_found", fmt.Sprintf("order %s not found", a.OrderID)}
	}
	return map[string]any{"order_id": o.ID, "customer_id": o.CustomerID, "status": o.Status,
		"total": o.Total, "currency": o.Currency}, nil
}

func (s *shop) updateOrderStatus(_ context.Context, a struct {
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
}) (map[string]any, error) {
	work()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[a.OrderID]
	switch {
	case !ok:
		return nil, &orderError{"order_not_found", fmt.Sprintf("order %s not found", a.OrderID)}
	case o.Status == "shipped" || o.Status == "delivered":
		return nil, &orderError{"order_shipped", fmt.Sprintf("order %s has %s and can no longer change; open a return instead", o.ID, o.Status)}
	}
	o.Status = a.Status
	return map[string]any{"order_id": o.ID, "status": o.Status}, nil
}

func (s *shop) initiateReturn(_ context.Context, a struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}) (map[string]any, error) {
	work()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[a.OrderID]
	if !ok {
		return nil, &orderError{"order_not_found", fmt.Sprintf("order %s not found", a.OrderID)}
	}
	s.returns++
	o.Status = "return_requested"
	return map[string]any{"return_id": fmt.Sprintf("RMA-%04d", 7000+s.returns), "order_id": o.ID, "status": o.Status,
		"label_url": "https://returns.shop.example/labels/" + o.ID}, nil
}

func (s *shop) issueRefund(_ context.Context, a struct {
	OrderID     string  `json:"order_id"`
	Amount      float64 `json:"amount"`
	Currency    string  `json:"currency"`
	Reason      string  `json:"reason"`
	Note        string  `json:"note"`
	CallbackURL string  `json:"callback_url"`
}) (map[string]any, error) {
	work()
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[a.OrderID]
	switch {
	case !ok:
		return nil, &orderError{"order_not_found", fmt.Sprintf("order %s not found", a.OrderID)}
	case a.Amount <= 0 || a.Amount > o.Total:
		return nil, &orderError{"invalid_amount", fmt.Sprintf("refund of %.2f exceeds the order total %.2f", a.Amount, o.Total)}
	}
	s.refunds++
	return map[string]any{"refund_id": fmt.Sprintf("R-%04d", 8800+s.refunds), "order_id": o.ID, "status": "issued",
		"amount": a.Amount, "currency": o.Currency}, nil
}
